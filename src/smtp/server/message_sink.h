#pragma once
// The interface through which the SMTP server hands over accepted messages.
// ingest/ implements it; the server knows nothing of spools or events.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/envelope.h"
#include "smtp/proto/reply.h"
#include "smtp/server/options.h"
#include "tls/tls.h"

namespace sluice::smtp {

struct SessionInfo {
  std::string listener;
  ListenerKind kind = ListenerKind::kRelay;
  std::string local_hostname;
  std::string client_ip;
  std::uint16_t client_port = 0;
  std::string helo;
  bool esmtp = false;
  std::string auth_user;      // empty if not authenticated
  bool relay_client = false;  // the client address is in relay_networks
  // Mail we originate (and so may sign as our domains): from an authenticated
  // user or a relay client; not mail merely addressed to a local domain.
  bool Trusted() const { return !auth_user.empty() || relay_client; }
  tls::SessionInfo tls;  // version empty if not under TLS
  // Set by a front end other than SMTP (the HTTP API): the protocol for the
  // Received field, and the tenant and campaign its credentials and request
  // fix (then no X-Tenant / X-Campaign field or configured tenant applies).
  std::string protocol;
  std::string tenant;
  std::string campaign;
  // The request's metadata (carried into every event of the message) and
  // when the first attempt is to be made (microseconds since the epoch; 0: now).
  std::vector<std::pair<std::string, std::string>> metadata;
  std::int64_t send_at_us = 0;
  // The request asks for List-Unsubscribe fields (ingest::Options::Unsubscribe).
  bool unsubscribe = false;
  // The request asks for open and click tracking (ingest::Options::Tracking).
  bool track_opens = false;
  bool track_clicks = false;
  // RFC 3848 / RFC 6531 protocol keyword for the Received header: "ESMTPSA", ...
  std::string Protocol(bool smtputf8) const;
};

class MessageSink {
 public:
  virtual ~MessageSink() = default;
  // Asked at MAIL: nullopt if a new message can be taken, else the reply (452 4.3.1).
  virtual std::optional<Reply> CheckResources() = 0;
  // Asked at RCPT (and by the HTTP API for each recipient) once the server's
  // own policy took it: nullopt to go on, else the refusal (a suppressed
  // address: 550 5.7.1).
  virtual std::optional<Reply> CheckRecipient(const SessionInfo& /*session*/,
                                              const Address& /*sender*/, const Address& /*rcpt*/) {
    return std::nullopt;
  }
  // Makes the message durable and answers: "250 2.0.0 Ok: queued as <id>" only
  // once it is on stable storage; 451/452/421 otherwise. `data` is the unstuffed
  // message content as received.
  virtual boost::asio::awaitable<Reply> Accept(SessionInfo session, Envelope envelope,
                                               std::string data) = 0;
};

}  // namespace sluice::smtp
