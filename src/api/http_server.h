#pragma once
// Security: listens for untrusted HTTP clients. Every request is bounded: its
//           header and body sizes, the time to read it, the requests a
//           connection may make, and the connections a listener holds.
// Standards: RFC 9112 (HTTP/1.1 messages, persistent connections), RFC 9110
//            §15 (status codes; 100-continue §10.1.1), RFC 8446 via OpenSSL.
//
// The server reads requests (Boost.Beast) and hands each to a Handler; what a
// request means is the handler's business. Connections live on one context
// of the io pool each, like SMTP sessions.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/result.h"
#include "runtime/io_pool.h"
#include "tls/tls.h"

namespace sluice::api {

struct HttpLimits {
  std::size_t max_header_size = 16 * 1024;
  std::uint64_t max_body_size = 64ull << 20;  // a batch with a large message or attachments
  std::uint32_t max_connections = 1000;
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};     // between requests
  std::chrono::milliseconds request_timeout{std::chrono::seconds(60)};  // reading one, answering it
  std::uint32_t max_requests_per_connection = 100000;
};

struct HttpListenerOptions {
  std::string name = "api";
  std::string address = "127.0.0.1";
  std::uint16_t port = 8025;
  HttpLimits limits;
};

struct HttpRequest {
  std::string method;                                        // as sent: "GET", "POST", ...
  std::string target;                                        // origin-form: path and query
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::string listener;
  std::string client_ip;
  bool tls = false;
  // The first value of a header (name in lower case), or empty.
  std::string_view Header(std::string_view name) const;
  std::string_view Path() const;  // target without the query
  // The first value of a query parameter, percent-decoded ('+' is a space),
  // or nullopt if it is absent or its encoding is broken.
  std::optional<std::string> Query(std::string_view name) const;
};

// "%40" to "@" (and '+' to a space if `plus`); nullopt for a bad escape.
std::optional<std::string> PercentDecode(std::string_view s, bool plus);

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual boost::asio::awaitable<HttpResponse> Handle(HttpRequest request) = 0;
};

// {"error": {"code": CODE, "message": MESSAGE}} with `status`.
HttpResponse ErrorResponse(unsigned status, std::string_view code, std::string_view message);

class HttpServer {
 public:
  HttpServer(runtime::IoPool& pool, HttpHandler& handler);
  ~HttpServer();

  // Binds now (errors surface at start-up); accepting starts with Start().
  // `tls` null: plain HTTP.
  Result<Ok, std::string> AddListener(HttpListenerOptions opts,
                                      std::shared_ptr<tls::ServerContextHolder> tls);
  std::map<std::string, std::uint16_t> BoundPorts() const;
  void Start();
  // Stops accepting; each connection closes after the response in progress.
  void BeginShutdown();
  std::size_t active_connections() const { return active_.load(); }
  // After the io threads have stopped, before their contexts are destroyed:
  // closes the listeners' sockets and lets go of them.
  void ReleaseListeners();

  struct Listener;

 private:
  runtime::IoPool& pool_;
  HttpHandler& handler_;
  std::vector<std::shared_ptr<Listener>> listeners_;
  std::atomic<std::size_t> active_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace sluice::api
