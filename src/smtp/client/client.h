#pragma once
// Security: talks to remote mail servers (untrusted replies, bounded reads);
//           opportunistic TLS does not authenticate the peer.
// Standards: RFC 5321 (client side; §4.5.3.2 timeouts), RFC 2920 (PIPELINING),
//            RFC 3207 (STARTTLS), RFC 1870 (SIZE), RFC 6152 (8BITMIME; 8-bit
//            content converted to quoted-printable for a server without it),
//            RFC 6531 (SMTPUTF8: 5.6.7 when the server lacks it), RFC 3461 (DSN).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include "core/envelope.h"
#include "core/result.h"
#include "smtp/proto/reply.h"
#include "tls/peer.h"
#include "tls/tls.h"

namespace sluice::smtp {

enum class TlsPolicy { kDisabled, kOpportunistic, kRequired };

// Message content read a piece at a time, so a large message is never held
// whole. `read(i, out)` puts piece i (0, 1, ...) in `out`. If the pieces do
// not add up to `size`, or a read fails, the message is not ended: the
// connection is dropped before the final dot, so no truncated message goes out.
struct MessageBody {
  enum class Piece { kData, kEnd, kError };
  std::uint64_t size = 0;  // octets in all (MAIL's SIZE=)
  std::function<Piece(std::uint32_t index, std::string& out)> read;
  // The whole message as one piece (it must outlive the body).
  static MessageBody Of(std::string_view data);
};

struct ClientOptions {
  std::string ehlo_name = "localhost";
  std::string source_address;  // local address to bind (egress source); empty: any
  TlsPolicy tls = TlsPolicy::kOpportunistic;
  // What the server must prove after STARTTLS (tls/peer.h). With a kind other
  // than kNone and `auth_enforced`, an unauthenticated server is hung up on
  // before MAIL; without `auth_enforced` (an MTA-STS policy in testing mode)
  // the failure is only recorded (ClientConnection::auth_failure()).
  tls::PeerAuth auth;
  bool auth_enforced = true;
  // RFC 5321 §4.5.3.2 client timeouts.
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(60);
  std::chrono::milliseconds greeting_timeout = std::chrono::minutes(5);
  std::chrono::milliseconds command_timeout = std::chrono::minutes(5);  // EHLO, MAIL, RCPT
  std::chrono::milliseconds data_init_timeout = std::chrono::minutes(2);
  std::chrono::milliseconds data_block_timeout = std::chrono::minutes(3);
  std::chrono::milliseconds data_done_timeout = std::chrono::minutes(10);
};

struct ServerCapabilities {
  bool esmtp = false;
  bool pipelining = false;
  bool starttls = false;
  bool eightbitmime = false;
  bool smtputf8 = false;
  bool dsn = false;
  bool chunking = false;
  bool requiretls = false;     // RFC 8689
  std::uint64_t max_size = 0;  // 0: not announced or unlimited
};

enum class ClientStage { kConnect, kGreeting, kEhlo, kStartTls, kMail, kRcpt, kData, kQuit };
const char* ToString(ClientStage s);

struct ConnectFailure {
  ClientStage stage = ClientStage::kConnect;
  std::string detail;
  std::optional<Reply> reply;  // when the server answered
  std::string tls_result;      // RFC 8460 §4.3 result type of a TLS failure; else empty
};

// Per recipient of the transaction, the reply that decides its fate.
struct TransactionResult {
  std::vector<Reply> recipients;  // same order as the recipients sent
  bool connection_usable = true;  // false: close rather than reuse
};

class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  // Connects, reads the greeting, says EHLO (HELO if refused), and upgrades
  // with STARTTLS as the policy asks. `tls_ctx` may be null (no TLS).
  static boost::asio::awaitable<Result<std::shared_ptr<ClientConnection>, ConnectFailure>> Open(
      boost::asio::any_io_executor ex, std::string ip, std::uint16_t port, std::string mx_host,
      ClientOptions opts, std::shared_ptr<boost::asio::ssl::context> tls_ctx);

  // One mail transaction for `rcpts` (indices into env.recipients); pipelined
  // when the server offers PIPELINING. `body` is the stored message, sent a
  // piece at a time; `data` the whole of it.
  boost::asio::awaitable<TransactionResult> Send(const Envelope& env,
                                                 const std::vector<std::size_t>& rcpts,
                                                 const MessageBody& body);
  boost::asio::awaitable<TransactionResult> Send(const Envelope& env,
                                                 const std::vector<std::size_t>& rcpts,
                                                 std::string_view data);
  boost::asio::awaitable<void> Quit();

  const ServerCapabilities& capabilities() const { return caps_; }
  const tls::SessionInfo& tls_info() const { return tls_info_; }
  // The server proved what ClientOptions::auth asked (false when nothing was asked).
  bool authenticated() const { return authenticated_; }
  // Why it did not, when that was let pass (auth_enforced false).
  const std::optional<tls::AuthFailure>& auth_failure() const { return auth_failure_; }
  const std::string& peer_ip() const { return ip_; }
  const std::string& mx_host() const { return mx_host_; }
  bool usable() const { return !closed_; }

  ~ClientConnection();
  struct Impl;

 private:
  ClientConnection() = default;
  std::unique_ptr<Impl> impl_;
  ServerCapabilities caps_;
  tls::SessionInfo tls_info_;
  bool authenticated_ = false;
  std::optional<tls::AuthFailure> auth_failure_;
  std::string ip_;
  std::string mx_host_;
  bool closed_ = false;
};

// A client TLS context for opportunistic STARTTLS (the system trust store;
// tls::MakeClientContext).
std::shared_ptr<boost::asio::ssl::context> MakeOpportunisticClientContext();

}  // namespace sluice::smtp
