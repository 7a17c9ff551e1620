#include "mtasts/fetch.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "core/ascii.h"
#include "mtasts/policy.h"
#include "tls/peer.h"

namespace sluice::mtasts {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr const char* kFetchError = "sts-policy-fetch-error";

FetchFailure FetchError(std::string detail) {
  return {kFetchError, std::move(detail)};
}

class HttpsFetcher final : public Fetcher {
 public:
  HttpsFetcher(asio::any_io_executor ex, dns::Resolver& resolver,
               std::shared_ptr<asio::ssl::context> tls, HttpsFetcherOptions opts)
      : ex_(std::move(ex)), resolver_(resolver), tls_(std::move(tls)), opts_(opts) {}

  awaitable<Result<std::string, FetchFailure>> Fetch(std::string domain) override {
    const std::string host = "mta-sts." + domain;
    auto addrs = co_await resolver_.ResolveAddresses(host);
    if (!addrs || addrs->empty()) {
      co_return Fail(
          FetchError(host + ": " + (addrs ? "no address" : dns::ToString(addrs.error()))));
    }
    std::string last;
    for (const auto& ip : *addrs) {
      auto r = co_await FetchFrom(this, host, ip);
      if (r || r.error().result_type != kFetchError) {
        co_return r;  // an answer, or a certificate that does not verify
      }
      last = r.error().detail;
    }
    co_return Fail(FetchError(last));
  }

 private:
  static awaitable<Result<std::string, FetchFailure>> FetchFrom(HttpsFetcher* self,
                                                                const std::string& host,
                                                                const std::string& ip) {
    boost::system::error_code ec;
    const auto addr = asio::ip::make_address(ip, ec);
    if (ec) {
      co_return Fail(FetchError("bad address " + ip));
    }
    beast::tcp_stream tcp(self->ex_);
    // One deadline for the whole exchange.
    tcp.expires_after(self->opts_.timeout);
    const std::string where = host + "[" + ip + "]";
    std::tie(ec) =
        co_await tcp.async_connect(asio::ip::tcp::endpoint(addr, self->opts_.port), kTuple);
    if (ec) {
      co_return Fail(FetchError(where + ": connect: " + ec.message()));
    }
    beast::ssl_stream<beast::tcp_stream&> stream(tcp, *self->tls_);
    tls::PeerAuth auth{tls::PeerAuth::Kind::kPkix, {host}, {}};
    if (auto p = tls::PrepareClient(stream.native_handle(), host, auth); !p) {
      co_return Fail(FetchError(where + ": " + p.error()));
    }
    std::tie(ec) = co_await stream.async_handshake(asio::ssl::stream_base::client, kTuple);
    if (ec) {
      co_return Fail(FetchError(where + ": TLS handshake: " + ec.message()));
    }
    // RFC 8461 §3.3: the policy host's certificate must be valid for it.
    if (auto f = tls::CheckPeer(stream.native_handle(), auth)) {
      co_return Fail(FetchFailure{"sts-webpki-invalid", where + ": certificate: " + f->detail});
    }
    http::request<http::empty_body> req{http::verb::get, "/.well-known/mta-sts.txt", 11};
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "Sluice");
    req.keep_alive(false);
    std::tie(ec, std::ignore) = co_await http::async_write(stream, req, kTuple);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxPolicyBytes);
    if (!ec) {
      std::tie(ec, std::ignore) = co_await http::async_read(stream, buf, parser, kTuple);
    }
    if (ec) {
      co_return Fail(FetchError(
          where + ": " + (ec == beast::error::timeout ? "no answer in time" : ec.message())));
    }
    auto& res = parser.get();
    const unsigned status = res.result_int();
    if (status != 200) {
      // RFC 8461 §3.3: redirects are not followed.
      co_return Fail(FetchError(where + ": HTTP " + std::to_string(status)));
    }
    // RFC 8461 §3.2: the policy is text/plain (parameters allowed).
    const std::string type = AsciiLower(std::string(res[http::field::content_type]));
    if (type.rfind("text/plain", 0) != 0 ||
        (type.size() > 10 && type[10] != ';' && type[10] != ' ')) {
      co_return Fail(FetchError(where + ": content type \"" + type + "\", not text/plain"));
    }
    // No close_notify dance: the body is whole (its length was given or the
    // parser saw the end), and the connection goes now.
    beast::get_lowest_layer(stream).close();
    co_return std::move(res.body());
  }

  asio::any_io_executor ex_;
  dns::Resolver& resolver_;
  std::shared_ptr<asio::ssl::context> tls_;
  HttpsFetcherOptions opts_;
};

}  // namespace

std::unique_ptr<Fetcher> MakeHttpsFetcher(asio::any_io_executor ex, dns::Resolver& resolver,
                                          std::shared_ptr<asio::ssl::context> tls,
                                          HttpsFetcherOptions opts) {
  return std::make_unique<HttpsFetcher>(std::move(ex), resolver, std::move(tls), opts);
}

}  // namespace sluice::mtasts
