#pragma once
// Settings of the SMTP server: plain structs with defaults, bound from config by app/.
// Every limit has one name, used the same in config, code and docs/config.md.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

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
  std::size_t max_command_line_length = 512;     // 500 5.5.2 (RFC 5321 §4.5.3.1.4)
  std::size_t max_auth_line_length = 12288;      // RFC 4954 §4
  std::size_t max_line_length = 998;             // 550 5.5.2 after DATA (RFC 5322 §2.1.1)
  std::chrono::milliseconds command_timeout = std::chrono::minutes(5);  // RFC 5321 §4.5.3.2.7
  std::chrono::milliseconds data_timeout = std::chrono::minutes(5);
  std::chrono::milliseconds tls_handshake_timeout = std::chrono::seconds(60);
  std::uint32_t max_connections = 1000;              // 421 4.7.0 at connect
  std::uint32_t max_connections_per_ip = 50;         // 421 4.7.0 at connect
  std::uint32_t max_errors = 10;                     // 421 4.7.0, then close
  std::uint32_t max_messages_per_connection = 1000;  // 421 4.7.0 at the next MAIL
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
  std::vector<Network> relay_networks;     // clients allowed to relay on relay listeners
  std::vector<std::string> local_domains;  // accepted for any client (lower-case A-labels)
};

}  // namespace sluice::smtp
