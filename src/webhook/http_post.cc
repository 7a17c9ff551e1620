#include "webhook/http_post.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/ssl.h>

#include "core/ascii.h"
#include "core/network.h"

namespace sluice::webhook {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::awaitable;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxResponseBody = 64 * 1024;
}  // namespace

Result<Url, std::string> Url::Parse(std::string_view text) {
  Url u;
  std::string_view rest;
  if (AsciiLower(text.substr(0, 8)) == "https://") {
    rest = text.substr(8);
  } else if (AsciiLower(text.substr(0, 7)) == "http://") {
    u.https = false;
    u.port = 80;
    rest = text.substr(7);
  } else {
    return Fail(std::string("a webhook URL starts with https:// (or http:// to loopback)"));
  }
  const auto path_at = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_at);
  std::string_view tail = path_at == std::string_view::npos ? "" : rest.substr(path_at);
  if (tail.find('#') != std::string_view::npos) {
    return Fail(std::string("a webhook URL has no fragment (#...)"));
  }
  if (authority.find('@') != std::string_view::npos) {
    return Fail(std::string("a webhook URL carries no user name or password; use the secret"));
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return Fail(std::string("unclosed [ in the webhook URL's host"));
    }
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return Fail(std::string("bad text after the webhook URL's host"));
      }
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
    }
  }
  if (u.host.empty()) {
    return Fail(std::string("the webhook URL has no host"));
  }
  if (!port_text.empty()) {
    unsigned long port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) {
        return Fail(std::string("bad port in the webhook URL"));
      }
      port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) {
      return Fail(std::string("bad port in the webhook URL"));
    }
    u.port = static_cast<std::uint16_t>(port);
  }
  u.target = tail.empty() ? "/" : std::string(tail);
  if (u.target.front() == '?') {
    u.target.insert(0, "/");
  }
  for (char c : u.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return Fail(std::string("the webhook URL's path has a space or control character"));
    }
  }
  return u;
}

bool Url::loopback() const {
  if (AsciiLower(host) == "localhost") {
    return true;
  }
  auto ip = IpAddress::Parse(host);
  return ip && ip->IsLoopback();
}

Result<std::shared_ptr<ssl::context>, std::string> MakeClientTls(const std::string& ca_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
  } else {
    ctx->load_verify_file(ca_file, ec);
  }
  if (ec) {
    return Fail("cannot load trusted certificates" +
                (ca_file.empty() ? std::string() : " from " + ca_file) + ": " + ec.message());
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

struct HttpPoster::Conn {
  explicit Conn(asio::any_io_executor ex, ssl::context* tls)
      : tcp(ex),
        stream(tls != nullptr ? std::make_unique<beast::ssl_stream<beast::tcp_stream&>>(tcp, *tls)
                              : nullptr) {}
  beast::tcp_stream tcp;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream&>> stream;
  beast::flat_buffer buf;
};

HttpPoster::HttpPoster(asio::any_io_executor ex, Url url, std::shared_ptr<ssl::context> tls,
                       std::chrono::milliseconds timeout)
    : ex_(std::move(ex)), url_(std::move(url)), tls_(std::move(tls)), timeout_(timeout) {}

HttpPoster::~HttpPoster() = default;

void HttpPoster::Close() {
  if (conn_) {
    boost::system::error_code ignored;
    conn_->tcp.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    conn_->tcp.close();
    conn_.reset();
  }
}

awaitable<std::string> HttpPoster::Connect() {
  conn_ = std::make_unique<Conn>(ex_, url_.https ? tls_.get() : nullptr);
  conn_->tcp.expires_after(timeout_);
  asio::ip::tcp::resolver resolver(ex_);
  auto [rec, results] =
      co_await resolver.async_resolve(url_.host, std::to_string(url_.port), kTuple);
  if (rec) {
    co_return "cannot resolve " + url_.host + ": " + rec.message();
  }
  auto [cec, ep] = co_await conn_->tcp.async_connect(results, kTuple);
  if (cec) {
    co_return "cannot connect to " + url_.host + ":" + std::to_string(url_.port) + ": " +
        cec.message();
  }
  if (url_.https) {
    SSL* ssl_handle = conn_->stream->native_handle();
    // SNI for a name (not for an address literal), and the name checked.
    if (!IpAddress::Parse(url_.host)) {
      SSL_set_tlsext_host_name(ssl_handle, url_.host.c_str());
    }
    conn_->stream->set_verify_callback(ssl::host_name_verification(url_.host));
    auto [hec] = co_await conn_->stream->async_handshake(ssl::stream_base::client, kTuple);
    if (hec) {
      co_return "TLS handshake with " + url_.host + " failed: " + hec.message();
    }
  }
  co_return std::string();
}

awaitable<HttpPoster::Response> HttpPoster::Exchange(HttpPoster* self, const Headers& headers,
                                                     const std::string& body) {
  Response out;
  http::request<http::string_body> req{http::verb::post, self->url_.target, 11};
  req.set(http::field::host, self->url_.host);
  req.set(http::field::user_agent, "Sluice");
  req.set(http::field::content_type, "application/json");
  req.keep_alive(true);
  for (const auto& [k, v] : headers) {
    req.set(k, v);
  }
  req.body() = body;
  req.prepare_payload();
  Conn& c = *self->conn_;
  c.tcp.expires_after(self->timeout_);
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  boost::system::error_code ec;
  if (c.stream) {
    std::tie(ec, std::ignore) = co_await http::async_write(*c.stream, req, kTuple);
    if (!ec) {
      std::tie(ec, std::ignore) = co_await http::async_read(*c.stream, c.buf, parser, kTuple);
    }
  } else {
    std::tie(ec, std::ignore) = co_await http::async_write(c.tcp, req, kTuple);
    if (!ec) {
      std::tie(ec, std::ignore) = co_await http::async_read(c.tcp, c.buf, parser, kTuple);
    }
  }
  if (ec) {
    out.error = ec == beast::error::timeout ? "no answer within the timeout" : ec.message();
    // What a kept connection the receiver closed meanwhile looks like.
    out.closed = ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
                 ec == asio::error::broken_pipe || ec == asio::error::eof;
    self->Close();
    co_return out;
  }
  auto& res = parser.get();
  out.status = res.result_int();
  out.body = res.body().substr(0, 4096);
  if (!res.keep_alive()) {
    self->Close();
  }
  co_return out;
}

awaitable<HttpPoster::Response> HttpPoster::Post(Headers headers, std::string body) {
  // A kept connection may have been closed by the receiver meanwhile: one
  // more try on a new one if the old one fails before any answer.
  const bool reused = conn_ != nullptr;
  if (!conn_) {
    std::string err = co_await Connect();
    if (!err.empty()) {
      Close();
      co_return Response{0, err, "", false};
    }
  }
  Response r = co_await Exchange(this, headers, body);
  if (r.status == 0 && reused && r.closed) {
    std::string err = co_await Connect();
    if (!err.empty()) {
      Close();
      co_return Response{0, err, "", false};
    }
    r = co_await Exchange(this, headers, body);
  }
  co_return r;
}

}  // namespace sluice::webhook
