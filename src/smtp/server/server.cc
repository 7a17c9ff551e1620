#include "smtp/server/server.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "smtp/server/session.h"

namespace sluice::smtp {

namespace asio = boost::asio;
using asio::awaitable;

// Accepts connections for one listener and admits each against the limits
// before any work is spent on it: a refused client costs one descriptor for as
// long as it takes to write one line (none at all on the implicit-TLS port),
// never a session or a TLS handshake.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(ListenerOptions opts, std::shared_ptr<tls::ServerContextHolder> tls,
           asio::io_context& ioc)
      : opts_(std::move(opts)), tls_(std::move(tls)), acceptor_(ioc) {}

  ~Listener() {
    if (spare_fd_ >= 0) {
      ::close(spare_fd_);
    }
  }

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
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (spare_fd_ < 0) {
      spdlog::warn(
          "listener {}: no spare descriptor (/dev/null: {}): out of descriptors, "
          "waiting clients will get no 421",
          opts_.name, std::strerror(errno));
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
        auto pause = std::chrono::milliseconds(100);
        if (ec == asio::error::no_descriptors || ec.value() == ENFILE) {
          // Out of descriptors. accept() says so even with no client waiting:
          // refuse the waiting ones, then look again shortly. (A timer, not a
          // wait for readiness: with edge-triggered epoll, an edge taken while
          // no accept was pending would not wake such a wait.)
          if (self->ShedWithSpare(ctx)) {
            continue;
          }
          if (self->spare_fd_ < 0) {
            self->WarnAcceptFailed(ec.message() + " (and no spare descriptor to refuse with)");
          }
          pause = std::chrono::milliseconds(20);
        } else {
          self->WarnAcceptFailed(ec.message());
        }
        asio::steady_timer t(self->acceptor_.get_executor(), pause);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      boost::system::error_code ignored;
      Peer peer = PeerOf(socket, ctx.options);
      auto [slot, refusal] = self->Admit(peer, ctx);
      if (!slot) {
        self->Refuse(socket, refusal, ctx.options.hostname);
        if (ctx.on_refused) {
          ctx.on_refused(self->opts_.name, "connect", Reply{421, "4.7.0", refusal});
        }
        continue;
      }
      socket.set_option(asio::ip::tcp::no_delay(true), ignored);
      auto ex = socket.get_executor();
      auto session = std::make_shared<Session>(std::move(socket), self->opts_, ctx, server,
                                               self->tls_, std::move(slot), std::move(peer));
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
  // Once the reactor threads have stopped (a posted Close may never have
  // run): a session frame destroyed with another context may hold the last
  // reference, and an open acceptor's destructor would reach into the
  // reactor of a context already gone.
  void CloseNow() {
    boost::system::error_code ec;
    acceptor_.close(ec);
  }

 private:
  class Slot final : public ConnectionSlot {
   public:
    Slot(std::shared_ptr<Listener> l, std::string ip, std::atomic<std::uint32_t>& inbound)
        : l_(std::move(l)), ip_(std::move(ip)), inbound_(inbound) {}
    ~Slot() override {
      inbound_.fetch_sub(1);
      l_->Release(ip_);
    }

   private:
    std::shared_ptr<Listener> l_;
    std::string ip_;
    std::atomic<std::uint32_t>& inbound_;
  };

  static Peer PeerOf(const asio::ip::tcp::socket& socket, const ServerOptions& options) {
    boost::system::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    auto addr = ep.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
      addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    }
    Peer peer{addr.to_string(), ep.port(), false};
    peer.relay_client = AnyContains(options.relay_networks, peer.ip);
    return peer;
  }

  // Connection limits: a slot, or the 421 4.7.0 text when over.
  std::pair<std::unique_ptr<ConnectionSlot>, const char*> Admit(const Peer& peer,
                                                                ServerContext& ctx) {
    const auto& limits = opts_.limits;
    const std::string& ip = peer.ip;
    std::uint32_t per_ip_limit =
        peer.relay_client ? limits.max_connections_per_relay_client : limits.max_connections_per_ip;
    std::lock_guard lock(mu_);
    if (total_ >= limits.max_connections) {
      return {nullptr, "Too many connections, try again later"};
    }
    auto it = per_ip_.find(ip);
    if (it != per_ip_.end() && it->second >= per_ip_limit) {
      return {nullptr, "Too many connections from your address"};
    }
    std::uint32_t inbound = ctx.inbound_connections.fetch_add(1);
    if (ctx.options.max_inbound_connections != 0 &&
        inbound >= ctx.options.max_inbound_connections) {
      ctx.inbound_connections.fetch_sub(1);
      return {nullptr, "Too many connections, try again later"};
    }
    ++per_ip_[ip];
    ++total_;
    return {std::make_unique<Slot>(shared_from_this(), ip, ctx.inbound_connections), nullptr};
  }

  void Release(const std::string& ip) {
    std::lock_guard lock(mu_);
    --total_;
    auto it = per_ip_.find(ip);
    if (it != per_ip_.end() && --it->second == 0) {
      per_ip_.erase(it);
    }
  }

  // A refused client gets its 421 in one non-blocking write and is closed. On
  // the implicit-TLS port it is closed at once: RFC 8314 §3.3 keeps all SMTP
  // inside TLS, and a handshake for a client we will not serve is work an
  // attacker could make us do by the thousand.
  void Refuse(asio::ip::tcp::socket& socket, const char* why, const std::string& hostname) {
    SayRefusal(socket.native_handle(), why, hostname);
    boost::system::error_code ignored;
    socket.close(ignored);
  }

  void SayRefusal(int fd, const char* why, const std::string& hostname) const {
    if (opts_.kind != ListenerKind::kSmtps) {
      std::string line = fmt::format("421 4.7.0 {} {}\r\n", hostname, why);
      ::send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
  }

  // Out of descriptors (EMFILE/ENFILE): a waiting client would sit in the
  // backlog with no greeting. Give up the spare descriptor for a moment, take
  // the client, refuse it with 421 and take the spare back. False if no
  // client was waiting (or there is no spare).
  bool ShedWithSpare(ServerContext& ctx) {
    if (spare_fd_ < 0) {
      spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      return false;
    }
    ::close(spare_fd_);
    spare_fd_ = -1;
    int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      SayRefusal(fd, "Too many connections, try again later", ctx.options.hostname);
      ::close(fd);
    }
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return false;  // no client was waiting
    }
    ++shed_;
    auto now = std::chrono::steady_clock::now();
    if (now - last_warning_ >= kWarnEvery) {
      spdlog::warn(
          "listener {}: out of file descriptors: {} connections refused with 421 since the "
          "last warning",
          opts_.name, shed_);
      shed_ = 0;
      last_warning_ = now;
    }
    return true;
  }

  void WarnAcceptFailed(const std::string& why) {
    ++accept_failures_;
    auto now = std::chrono::steady_clock::now();
    if (now - last_warning_ >= kWarnEvery) {
      spdlog::warn("listener {}: accept failed {} times since the last warning: {}", opts_.name,
                   accept_failures_, why);
      accept_failures_ = 0;
      last_warning_ = now;
    }
  }

  static constexpr auto kWarnEvery = std::chrono::seconds(10);

  ListenerOptions opts_;
  std::shared_ptr<tls::ServerContextHolder> tls_;
  asio::ip::tcp::acceptor acceptor_;
  int spare_fd_ = -1;
  // Rate-limited warnings (the accept loop runs on one thread).
  std::chrono::steady_clock::time_point last_warning_{};
  std::uint64_t shed_ = 0;
  std::uint64_t accept_failures_ = 0;
  std::mutex mu_;
  std::uint32_t total_ = 0;
  std::unordered_map<std::string, std::uint32_t> per_ip_;
};

Server::Server(runtime::IoPool& pool, ServerContext& ctx) : pool_(pool), ctx_(ctx) {
  ctx_.message_memory.set_limit(ctx_.options.max_message_memory);
}

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

void Server::ReleaseListeners() {
  for (const auto& l : listeners_) {
    l->CloseNow();
  }
  listeners_.clear();
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
