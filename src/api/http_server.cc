#include "api/http_server.h"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/ascii.h"
#include "runtime/log_errors.h"

namespace sluice::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) {
      return v;
    }
  }
  return {};
}

std::string_view HttpRequest::Path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::optional<std::string> PercentDecode(std::string_view s, bool plus) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    c = static_cast<char>(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      const int hi = i + 2 < s.size() ? hex(s[i + 1]) : -1;
      const int lo = hi >= 0 ? hex(s[i + 2]) : -1;
      if (lo < 0) {
        return std::nullopt;
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(plus && s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

std::optional<std::string> HttpRequest::Query(std::string_view name) const {
  std::string_view t = target;
  const auto q = t.find('?');
  if (q == std::string_view::npos) {
    return std::nullopt;
  }
  t.remove_prefix(q + 1);
  while (!t.empty()) {
    const auto amp = t.find('&');
    std::string_view pair = t.substr(0, amp);
    t = amp == std::string_view::npos ? std::string_view() : t.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return PercentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1),
                           true);
    }
  }
  return std::nullopt;
}

HttpResponse ErrorResponse(unsigned status, std::string_view code, std::string_view message) {
  boost::json::object inner;
  inner["code"] = code;
  inner["message"] = message;
  boost::json::object o;
  o["error"] = std::move(inner);
  HttpResponse r;
  r.status = status;
  r.body = boost::json::serialize(o);
  return r;
}

struct HttpServer::Listener {
  HttpListenerOptions opts;
  std::shared_ptr<tls::ServerContextHolder> tls;
  tcp::acceptor acceptor;
  std::atomic<std::uint32_t> connections{0};
  Listener(HttpListenerOptions o, std::shared_ptr<tls::ServerContextHolder> t,
           asio::io_context& ioc)
      : opts(std::move(o)), tls(std::move(t)), acceptor(ioc) {}
};

namespace {

// Holds one of a listener's and the server's connection slots (and the
// listener, which a connection may outlive in the server's list).
struct Slot {
  Slot(std::shared_ptr<HttpServer::Listener> l, std::atomic<std::size_t>& s)
      : listener(std::move(l)), server(s) {}
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  std::shared_ptr<HttpServer::Listener> listener;
  std::atomic<std::size_t>& server;
  ~Slot() {
    --listener->connections;
    --server;
  }
};

http::response<http::string_body> ToBeast(HttpResponse r, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "Sluice");
  if (!r.body.empty() || r.status != 204) {
    res.set(http::field::content_type, r.content_type);
  }
  for (auto& [k, v] : r.headers) {
    res.set(k, v);
  }
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

// A refusal the parser or the limits call for (the connection closes after it).
std::optional<HttpResponse> RefusalFor(const boost::system::error_code& ec) {
  if (ec == http::error::body_limit) {
    return ErrorResponse(413, "body_too_large", "the request body is larger than allowed");
  }
  if (ec == http::error::header_limit) {
    return ErrorResponse(431, "header_too_large", "the request header is larger than allowed");
  }
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) {
    return std::nullopt;  // closed between requests, or in the middle of one
  }
  if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
    return ErrorResponse(400, "bad_request", "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;  // the peer went away or timed out: nothing to say
}

template <class Stream>
beast::tcp_stream& Lowest(Stream& s) {
  return beast::get_lowest_layer(s);
}

template <class Stream>
awaitable<void> Converse(Stream& stream, beast::flat_buffer& buf, HttpServer::Listener& l,
                         HttpHandler& handler, const std::string& client_ip,
                         const std::atomic<bool>& stopping) {
  const HttpLimits& lim = l.opts.limits;
  for (std::uint32_t n = 0; n < lim.max_requests_per_connection && !stopping; ++n) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(
        static_cast<std::uint32_t>(std::min<std::size_t>(lim.max_header_size, UINT32_MAX)));
    parser.body_limit(lim.max_body_size);
    // Waiting for a request is idle time; once it has begun, the whole of it
    // (and the answer) must come within the request timeout.
    Lowest(stream).expires_after(buf.size() > 0 ? lim.request_timeout : lim.idle_timeout);
    auto [ec, ignored] = co_await http::async_read_header(stream, buf, parser, kTuple);
    if (!ec) {
      Lowest(stream).expires_after(lim.request_timeout);
      // RFC 9110 §10.1.1: a client waiting for 100 (curl, for large bodies)
      // gets it once the header is acceptable.
      const auto& h = parser.get();
      if (beast::iequals(h[http::field::expect], "100-continue") && !parser.is_done()) {
        http::response<http::empty_body> cont{http::status::continue_, h.version()};
        auto [wec, w] = co_await http::async_write(stream, cont, kTuple);
        ec = wec;
      }
    }
    if (!ec && !parser.is_done()) {
      std::tie(ec, ignored) = co_await http::async_read(stream, buf, parser, kTuple);
    }
    if (ec) {
      if (auto refusal = RefusalFor(ec)) {
        auto res = ToBeast(std::move(*refusal), 11, false);
        Lowest(stream).expires_after(std::chrono::seconds(5));
        co_await http::async_write(stream, res, kTuple);
      }
      co_return;
    }
    auto msg = parser.release();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& f : msg) {
      req.headers.emplace_back(AsciiLower(f.name_string()), std::string(f.value()));
    }
    req.body = std::move(msg.body());
    req.listener = l.opts.name;
    req.client_ip = client_ip;
    req.tls = l.tls != nullptr;
    const bool keep_alive =
        msg.keep_alive() && !stopping && n + 1 < lim.max_requests_per_connection;
    HttpResponse answer;
    try {
      answer = co_await handler.Handle(std::move(req));
    } catch (const std::exception& e) {
      spdlog::error("http {}: {} {}: {}", l.opts.name, msg.method_string(), msg.target(), e.what());
      answer = ErrorResponse(500, "internal_error", "the request failed; see the server log");
    }
    auto res = ToBeast(std::move(answer), msg.version(), keep_alive);
    if (msg.method() == http::verb::head) {
      res.body()
          .clear();  // RFC 9110 §9.3.2: the GET's header fields, Content-Length too; no content
    }
    Lowest(stream).expires_after(lim.request_timeout);
    auto [wec, w] = co_await http::async_write(stream, res, kTuple);
    if (wec || !keep_alive) {
      co_return;
    }
  }
}

awaitable<void> Serve(tcp::socket socket, std::shared_ptr<HttpServer::Listener> l,
                      HttpHandler& handler, const std::atomic<bool>& stopping,
                      std::shared_ptr<Slot> slot) {
  boost::system::error_code ignored;
  const auto peer = socket.remote_endpoint(ignored);
  const std::string client_ip = peer.address().to_string();
  socket.set_option(tcp::no_delay(true), ignored);
  beast::flat_buffer buf;
  if (!l->tls) {
    beast::tcp_stream stream(std::move(socket));
    co_await Converse(stream, buf, *l, handler, client_ip, stopping);
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    co_return;
  }
  auto ctx = l->tls->Current();
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *ctx);
  Lowest(stream).expires_after(l->opts.limits.request_timeout);
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
  if (ec) {
    spdlog::debug("http {}: TLS handshake with {} failed: {}", l->opts.name, client_ip,
                  ec.message());
    co_return;
  }
  co_await Converse(stream, buf, *l, handler, client_ip, stopping);
  Lowest(stream).expires_after(std::chrono::seconds(5));
  co_await stream.async_shutdown(kTuple);
  (void)slot;
}

// Over the connection limit: a short answer, no session (RFC 9110 §15.6.4).
awaitable<void> RefuseBusy(tcp::socket s) {
  auto res =
      ToBeast(ErrorResponse(503, "too_many_connections", "the listener is at its connection limit"),
              11, false);
  res.set(http::field::retry_after, "1");
  beast::tcp_stream stream(std::move(s));
  stream.expires_after(std::chrono::seconds(5));
  co_await http::async_write(stream, res, kTuple);
}

awaitable<void> AcceptLoop(std::shared_ptr<HttpServer::Listener> l, runtime::IoPool& pool,
                           HttpHandler& handler, std::atomic<std::size_t>& active,
                           const std::atomic<bool>& stopping) {
  while (l->acceptor.is_open() && !stopping) {
    tcp::socket socket(pool.Next());
    auto [ec] = co_await l->acceptor.async_accept(socket, kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !l->acceptor.is_open()) {
        break;
      }
      spdlog::warn("http {}: accept failed: {}", l->opts.name, ec.message());
      asio::steady_timer t(l->acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await t.async_wait(kTuple);
      continue;
    }
    if (l->connections.load() >= l->opts.limits.max_connections) {
      auto ex = socket.get_executor();
      asio::co_spawn(ex, RefuseBusy(std::move(socket)), runtime::LogErrors{"http refusal"});
      continue;
    }
    ++l->connections;
    ++active;
    auto slot = std::make_shared<Slot>(l, active);
    auto ex = socket.get_executor();
    asio::co_spawn(ex, Serve(std::move(socket), l, handler, stopping, std::move(slot)),
                   runtime::LogErrors{"http connection"});
  }
}

}  // namespace

HttpServer::HttpServer(runtime::IoPool& pool, HttpHandler& handler)
    : pool_(pool), handler_(handler) {}

HttpServer::~HttpServer() = default;

Result<Ok, std::string> HttpServer::AddListener(HttpListenerOptions opts,
                                                std::shared_ptr<tls::ServerContextHolder> tls) {
  auto l = std::make_shared<Listener>(std::move(opts), std::move(tls), pool_.At(0));
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(l->opts.address, ec);
  if (ec) {
    return Fail(fmt::format("http listener {}: bad address {}", l->opts.name, l->opts.address));
  }
  tcp::endpoint ep(addr, l->opts.port);
  l->acceptor.open(ep.protocol(), ec);
  if (!ec) {
    l->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    l->acceptor.bind(ep, ec);
  }
  if (!ec) {
    l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Fail(fmt::format("http listener {}: cannot listen on {}:{}: {}", l->opts.name,
                            l->opts.address, l->opts.port, ec.message()));
  }
  listeners_.push_back(std::move(l));
  return Ok{};
}

std::map<std::string, std::uint16_t> HttpServer::BoundPorts() const {
  std::map<std::string, std::uint16_t> out;
  for (const auto& l : listeners_) {
    boost::system::error_code ec;
    out[l->opts.name] = l->acceptor.local_endpoint(ec).port();
  }
  return out;
}

void HttpServer::Start() {
  for (const auto& l : listeners_) {
    asio::co_spawn(l->acceptor.get_executor(), AcceptLoop(l, pool_, handler_, active_, stopping_),
                   runtime::LogErrors{"http accept loop"});
  }
}

void HttpServer::BeginShutdown() {
  stopping_ = true;
  for (const auto& l : listeners_) {
    asio::post(l->acceptor.get_executor(), [l] {
      boost::system::error_code ec;
      l->acceptor.close(ec);
    });
  }
}

void HttpServer::ReleaseListeners() {
  // The close BeginShutdown posted may never have run. A connection's frame,
  // destroyed with another context, may hold the last reference: an open
  // acceptor's destructor would then reach into a reactor already gone.
  for (const auto& l : listeners_) {
    boost::system::error_code ec;
    l->acceptor.close(ec);
  }
  listeners_.clear();
}

}  // namespace sluice::api
