#include <utility>

#include "delivery/connection.h"

namespace sluice::delivery {

namespace {

class SmtpConnection final : public Connection {
 public:
  explicit SmtpConnection(std::shared_ptr<smtp::ClientConnection> c) : c_(std::move(c)) {
    tls_authenticated = c_->authenticated();
    if (const auto& f = c_->auth_failure()) {
      tls_failure = f->result_type;
    }
  }
  boost::asio::awaitable<smtp::TransactionResult> Send(const Envelope& env,
                                                       const std::vector<std::size_t>& rcpts,
                                                       const smtp::MessageBody& body) override {
    smtp::TransactionResult r = co_await c_->Send(env, rcpts, body);
    co_return r;
  }
  boost::asio::awaitable<void> Quit() override { co_await c_->Quit(); }
  bool usable() const override { return c_->usable(); }
  const std::string& mx_host() const override { return c_->mx_host(); }
  const std::string& peer_ip() const override { return c_->peer_ip(); }
  const tls::SessionInfo& tls_info() const override { return c_->tls_info(); }
  bool speaks_dsn() const override { return c_->capabilities().dsn; }
  bool speaks_requiretls() const override { return c_->capabilities().requiretls; }

 private:
  std::shared_ptr<smtp::ClientConnection> c_;
};

class SmtpConnector final : public Connector {
 public:
  SmtpConnector(boost::asio::any_io_executor ex, std::shared_ptr<boost::asio::ssl::context> ctx)
      : ex_(std::move(ex)),
        tls_ctx_(ctx ? std::move(ctx) : smtp::MakeOpportunisticClientContext()) {}
  boost::asio::awaitable<Result<std::unique_ptr<Connection>, smtp::ConnectFailure>> Open(
      std::string ip, std::uint16_t port, std::string mx_host, smtp::ClientOptions opts) override {
    auto c = co_await smtp::ClientConnection::Open(ex_, std::move(ip), port, std::move(mx_host),
                                                   std::move(opts), tls_ctx_);
    if (!c) {
      co_return Fail(std::move(c).error());
    }
    std::unique_ptr<Connection> conn = std::make_unique<SmtpConnection>(std::move(c).value());
    co_return conn;
  }

 private:
  boost::asio::any_io_executor ex_;
  std::shared_ptr<boost::asio::ssl::context> tls_ctx_;
};

}  // namespace

std::unique_ptr<Connector> MakeSmtpConnector(boost::asio::any_io_executor ex,
                                             std::shared_ptr<boost::asio::ssl::context> tls_ctx) {
  return std::make_unique<SmtpConnector>(std::move(ex), std::move(tls_ctx));
}

}  // namespace sluice::delivery
