#pragma once
// Security: the seam between delivery's decisions and the network.
//
// What delivery needs of an outbound SMTP connection, and a factory that
// opens one to an address. app/ injects the real one (smtp/client); tests
// inject connections that answer from a script.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/envelope.h"
#include "core/result.h"
#include "smtp/client/client.h"

namespace sluice::delivery {

class Connection {
 public:
  virtual ~Connection() = default;
  // One transaction for `rcpts` (indices into env.recipients).
  virtual boost::asio::awaitable<smtp::TransactionResult> Send(
      const Envelope& env, const std::vector<std::size_t>& rcpts,
      const smtp::MessageBody& body) = 0;
  virtual boost::asio::awaitable<void> Quit() = 0;
  virtual bool usable() const = 0;
  virtual const std::string& mx_host() const = 0;
  virtual const std::string& peer_ip() const = 0;
  virtual const tls::SessionInfo& tls_info() const = 0;
  // The receiver offers DSN (RFC 3461): it takes NOTIFY and reports itself.
  virtual bool speaks_dsn() const = 0;
  // The receiver offers REQUIRETLS (RFC 8689).
  virtual bool speaks_requiretls() const { return false; }

  // Set by the dispatcher once open: the TLS policy the connection was made
  // under (tls_policy.h) and whether the server proved its identity.
  std::string tls_policy = "opportunistic";
  bool tls_authenticated = false;
  // Why the server was not authenticated when that was let pass (an MTA-STS
  // policy in testing mode): an RFC 8460 result type; empty: no failure.
  std::string tls_failure;
};

class Connector {
 public:
  virtual ~Connector() = default;
  // Connects to `ip`:`port` (host name `mx_host`), greets and, as the
  // options ask, starts TLS (and authenticates the server).
  virtual boost::asio::awaitable<Result<std::unique_ptr<Connection>, smtp::ConnectFailure>> Open(
      std::string ip, std::uint16_t port, std::string mx_host, smtp::ClientOptions opts) = 0;
};

// Connections through smtp::ClientConnection on `ex`, with TLS from
// `tls_ctx` (tls::MakeClientContext; null: the system trust store).
std::unique_ptr<Connector> MakeSmtpConnector(boost::asio::any_io_executor ex,
                                             std::shared_ptr<boost::asio::ssl::context> tls_ctx);

}  // namespace sluice::delivery
