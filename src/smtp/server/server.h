#pragma once
// Security: the network face of Sluice: every byte here comes from untrusted clients.
// Standards: RFC 5321, RFC 1870 (SIZE), RFC 2034/3463 (enhanced codes), RFC 2920
//            (PIPELINING), RFC 3030 (CHUNKING/BDAT), RFC 3207 (STARTTLS), RFC 3461 (DSN),
//            RFC 4954 (AUTH), RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8), RFC 8314 (465).

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include "auth/credentials.h"
#include "auth/failure_limiter.h"
#include "core/result.h"
#include "runtime/io_pool.h"
#include "smtp/server/memory_budget.h"
#include "smtp/server/message_sink.h"
#include "smtp/server/options.h"
#include "tls/tls.h"

namespace sluice::smtp {

class Session;
class Listener;

// Shared by the sessions of one server.
struct ServerContext {
  ServerOptions options;
  MessageSink* sink = nullptr;
  std::shared_ptr<auth::CredentialStore> credentials;
  auth::FailureLimiter* auth_limiter = nullptr;
  boost::asio::thread_pool* blocking = nullptr;
  std::atomic<bool> draining{false};
  std::atomic<std::uint32_t> inbound_connections{0};  // sessions of all listeners
  // Message content held by sessions (limit: ServerOptions::max_message_memory).
  MemoryBudget message_memory;
  // Told of each refusal (a 4xx or 5xx reply) of a connection ("connect") or
  // of a MAIL ("mail"), RCPT ("rcpt") or message ("data"), at most one per
  // command, on the session's thread; may be empty. For the metrics.
  std::function<void(std::string_view listener, std::string_view phase, const Reply& reply)>
      on_refused;
};

class Server {
 public:
  Server(runtime::IoPool& pool, ServerContext& ctx);
  ~Server();

  // Binds now (so errors surface at start-up); accepting starts with Start().
  // `tls` may be null: no STARTTLS (and an smtps listener needs one).
  Result<Ok, std::string> AddListener(ListenerOptions opts,
                                      std::shared_ptr<tls::ServerContextHolder> tls);
  // Actual bound ports by listener name (useful with port 0).
  std::map<std::string, std::uint16_t> BoundPorts() const;
  void Start();

  // Graceful stop: close the listeners; every session answers 421 4.3.2 at its
  // next command (idle ones at once) and closes.
  void BeginShutdown();
  std::size_t active_sessions() const;
  // After the reactor threads have stopped, before their contexts are destroyed:
  // closes the listeners' sockets (they belong to those contexts) and lets go
  // of them.
  void ReleaseListeners();

  // Session bookkeeping (used by sessions).
  void Register(std::uint64_t id, const std::shared_ptr<Session>& s);
  void Unregister(std::uint64_t id);

 private:
  runtime::IoPool& pool_;
  ServerContext& ctx_;
  std::vector<std::shared_ptr<Listener>> listeners_;
  mutable std::mutex mu_;
  std::unordered_map<std::uint64_t, std::weak_ptr<Session>> sessions_;
};

}  // namespace sluice::smtp
