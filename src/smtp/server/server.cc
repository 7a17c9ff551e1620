#include "smtp/server/server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "smtp/server/session.h"

namespace sluice::smtp {

namespace asio = boost::asio;
using asio::awaitable;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(ListenerOptions opts, std::shared_ptr<tls::ServerContextHolder> tls,
           asio::io_context& ioc)
      : opts_(std::move(opts)), tls_(std::move(tls)), acceptor_(ioc) {}

  Result<Ok, std::string> Bind() {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(opts_.address, ec);
    if (ec) {
      return Fail(fmt::format("listener {}: bad address {}", opts_.name, opts_.address));
    }
    asio::ip::tcp::endpoint ep(addr, opts_.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) {
      acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
      acceptor_.bind(ep, ec);
    }
    if (!ec) {
      acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      return Fail(fmt::format("listener {}: cannot listen on {}:{}: {}", opts_.name, opts_.address,
                              opts_.port, ec.message()));
    }
    return Ok{};
  }

  std::uint16_t port() const {
    boost::system::error_code ec;
    return acceptor_.local_endpoint(ec).port();
  }
  const std::string& name() const { return opts_.name; }

  static awaitable<void> AcceptLoop(std::shared_ptr<Listener> self, runtime::IoPool& pool,
                                    ServerContext& ctx, Server& server) {
    while (self->acceptor_.is_open()) {
      asio::ip::tcp::socket socket(pool.Next());
      auto [ec] =
          co_await self->acceptor_.async_accept(socket, asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) {
          break;
        }
        // Out of descriptors or similar: pause rather than spin.
        spdlog::warn("listener {}: accept failed: {}", self->opts_.name, ec.message());
        asio::steady_timer t(self->acceptor_.get_executor(), std::chrono::milliseconds(100));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      boost::system::error_code ignored;
      socket.set_option(asio::ip::tcp::no_delay(true), ignored);
      std::string ip = socket.remote_endpoint(ignored).address().to_string();
      auto [slot, refuse] = self->Admit(ip);
      auto ex = socket.get_executor();
      auto session = std::make_shared<Session>(std::move(socket), self->opts_, ctx, server,
                                               self->tls_, std::move(slot), std::move(refuse));
      server.Register(session->id(), session);
      asio::co_spawn(ex, Session::Run(std::move(session)), [](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex2) {
            spdlog::error("session ended by exception: {}", ex2.what());
          }
        }
      });
    }
  }

  void Close() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ec;
      self->acceptor_.close(ec);
    });
  }

 private:
  class Slot final : public ConnectionSlot {
   public:
    Slot(std::shared_ptr<Listener> l, std::string ip) : l_(std::move(l)), ip_(std::move(ip)) {}
    ~Slot() override { l_->Release(ip_); }

   private:
    std::shared_ptr<Listener> l_;
    std::string ip_;
  };

  // Connection limits (421 4.7.0 when over).
  std::pair<std::unique_ptr<ConnectionSlot>, std::optional<Reply>> Admit(const std::string& ip) {
    std::lock_guard lock(mu_);
    if (total_ >= opts_.limits.max_connections) {
      return {nullptr, Reply{421, "4.7.0", "Too many connections, try again later"}};
    }
    auto& n = per_ip_[ip];
    if (n >= opts_.limits.max_connections_per_ip) {
      if (n == 0) {
        per_ip_.erase(ip);
      }
      return {nullptr, Reply{421, "4.7.0", "Too many connections from your address"}};
    }
    ++n;
    ++total_;
    return {std::make_unique<Slot>(shared_from_this(), ip), std::nullopt};
  }

  void Release(const std::string& ip) {
    std::lock_guard lock(mu_);
    --total_;
    auto it = per_ip_.find(ip);
    if (it != per_ip_.end() && --it->second == 0) {
      per_ip_.erase(it);
    }
  }

  ListenerOptions opts_;
  std::shared_ptr<tls::ServerContextHolder> tls_;
  asio::ip::tcp::acceptor acceptor_;
  std::mutex mu_;
  std::uint32_t total_ = 0;
  std::unordered_map<std::string, std::uint32_t> per_ip_;
};

Server::Server(runtime::IoPool& pool, ServerContext& ctx) : pool_(pool), ctx_(ctx) {}

Server::~Server() = default;

Result<Ok, std::string> Server::AddListener(ListenerOptions opts,
                                            std::shared_ptr<tls::ServerContextHolder> tls) {
  if (opts.kind == ListenerKind::kSmtps && !tls) {
    return Fail(fmt::format("listener {}: smtps needs a TLS certificate", opts.name));
  }
  auto l = std::make_shared<Listener>(std::move(opts), std::move(tls), pool_.At(0));
  auto r = l->Bind();
  if (!r) {
    return Fail(r.error());
  }
  listeners_.push_back(std::move(l));
  return Ok{};
}

std::map<std::string, std::uint16_t> Server::BoundPorts() const {
  std::map<std::string, std::uint16_t> out;
  for (const auto& l : listeners_) {
    out[l->name()] = l->port();
  }
  return out;
}

void Server::Start() {
  for (auto& l : listeners_) {
    asio::co_spawn(pool_.At(0), Listener::AcceptLoop(l, pool_, ctx_, *this), asio::detached);
  }
}

void Server::BeginShutdown() {
  ctx_.draining = true;
  for (auto& l : listeners_) {
    l->Close();
  }
  std::vector<std::weak_ptr<Session>> sessions;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, weak] : sessions_) {
      sessions.push_back(weak);
    }
  }
  // Outside the lock: dropping the last reference runs ~Session, which unregisters.
  for (auto& weak : sessions) {
    if (auto s = weak.lock()) {
      asio::post(s->executor(), [weak] {
        if (auto s2 = weak.lock()) {
          s2->Drain();
        }
      });
    }
  }
}

std::size_t Server::active_sessions() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

void Server::Register(std::uint64_t id, const std::shared_ptr<Session>& s) {
  std::lock_guard lock(mu_);
  sessions_[id] = s;
}

void Server::Unregister(std::uint64_t id) {
  std::lock_guard lock(mu_);
  sessions_.erase(id);
}

}  // namespace sluice::smtp
