#pragma once
// Settings of the SMTP server: plain structs with defaults, bound from config by app/.
// Every limit has one name, used the same in config, code and docs/config.md.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/network.h"

namespace sluice::smtp {

enum class ListenerKind {
  kRelay,       // port 25 style: relays for trusted networks and authenticated users
  kSubmission,  // port 587: AUTH (after STARTTLS) before MAIL
  kSmtps,       // port 465: implicit TLS, then as submission (RFC 8314)
};
const char* ToString(ListenerKind k);

struct Limits {
  std::uint64_t max_message_size = 25ull << 20;  // 552 5.3.4; advertised in SIZE
  std::uint32_t max_recipients = 1000;           // 452 4.5.3
  // RCPTs past max_recipients that are answered 452 without counting as errors
  // (the client sends them again in its next transaction); past this many they
  // count toward max_errors. Postfix's smtpd_recipient_overshoot_limit.
  std::uint32_t recipient_overshoot_limit = 1000;
  std::size_t max_command_line_length = 512;  // 500 5.5.2 (RFC 5321 §4.5.3.1.4)
  std::size_t max_auth_line_length = 12288;   // RFC 4954 §4
  std::size_t max_line_length = 998;          // 550 5.5.2 after DATA (RFC 5322 §2.1.1)
  std::chrono::milliseconds command_timeout = std::chrono::minutes(5);  // RFC 5321 §4.5.3.2.7
  std::chrono::milliseconds data_timeout = std::chrono::minutes(5);
  std::chrono::milliseconds tls_handshake_timeout = std::chrono::seconds(60);
  std::uint32_t max_connections = 1000;       // 421 4.7.0 at connect
  std::uint32_t max_connections_per_ip = 50;  // 421 4.7.0 at connect
  // For clients in relay networks (a few application servers that open many
  // connections each) instead of max_connections_per_ip.
  std::uint32_t max_connections_per_relay_client = 500;  // 421 4.7.0 at connect
  std::uint32_t max_errors = 10;                         // 421 4.7.0, then close
  std::uint32_t max_messages_per_connection = 1000;      // 421 4.7.0 at the next MAIL
};

struct ListenerOptions {
  std::string name;
  ListenerKind kind = ListenerKind::kRelay;
  std::string address = "127.0.0.1";
  std::uint16_t port = 25;
  bool allow_plaintext_auth = false;  // only honoured on loopback addresses
  Limits limits;
};

struct ServerOptions {
  std::string hostname = "localhost";
  std::vector<Network> relay_networks;  // clients allowed to relay on relay listeners
  // Domains this server receives mail for (lower-case A-labels). Sluice keeps
  // no mailboxes: only postmaster there is accepted (RFC 5321 §4.5.1), every
  // other recipient gets 550 5.1.1.
  std::vector<std::string> local_domains;
  // Domains whose mail is feedback to us (bounce domains: asynchronous
  // bounces to VERP addresses, complaint reports, mailto unsubscribes):
  // every local part there is accepted from anyone and never relayed.
  std::vector<std::string> feedback_domains;
  // Where postmaster mail (bare, or at a local domain) goes: a mailbox,
  // delivered like other mail. Null: the recipient stays the bare
  // <postmaster>, which ingest keeps in its local Maildir.
  std::optional<Address> postmaster;
  // Sessions of all listeners together (0: no limit): what the descriptor
  // limit leaves after the reserve for the spool, event log and outbound
  // connections. Set by sluiced from RLIMIT_NOFILE. 421 4.7.0 at connect.
  std::uint32_t max_inbound_connections = 0;
  // Message content all sessions together hold in memory while it arrives
  // and is stored (0: no limit). Past it, DATA gets 452 4.3.1.
  std::uint64_t max_message_memory = 512ull << 20;
};

}  // namespace sluice::smtp
