#pragma once
// Security: https receivers are verified against the system's trust store
//           (or the webhook's ca_file) and the URL's host name (RFC 6125);
//           plain http is allowed only to loopback addresses.
// Standards: RFC 9110/9112 (HTTP/1.1 POST, keep-alive), RFC 3986 (URLs).
//
// One webhook's connection to its receiver: POSTs one request at a time,
// keeps the connection for the next, and opens a new one when it is gone.
// Every request has a deadline for the whole exchange.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "core/result.h"

namespace boost::asio::ssl {
class context;
}

namespace sluice::webhook {

struct Url {
  bool https = true;
  std::string host;  // a name, or an IP address (IPv6 without brackets)
  std::uint16_t port = 443;
  std::string target = "/";  // path and query
  // http(s)://host[:port][/path][?query]; no user info, no fragment.
  static Result<Url, std::string> Parse(std::string_view text);
  bool loopback() const;  // host is 127.0.0.0/8, ::1 or "localhost"
};

// A client TLS context that verifies receivers: the system trust store, or
// `ca_file` (PEM) if given.
Result<std::shared_ptr<boost::asio::ssl::context>, std::string> MakeClientTls(
    const std::string& ca_file);

class HttpPoster {
 public:
  HttpPoster(boost::asio::any_io_executor ex, Url url,
             std::shared_ptr<boost::asio::ssl::context> tls, std::chrono::milliseconds timeout);
  ~HttpPoster();

  struct Response {
    unsigned status = 0;  // 0: no answer (see error)
    std::string error;
    std::string body;     // the first 4 KiB, for diagnostics
    bool closed = false;  // the connection was found closed (not a timeout)
  };
  using Headers = std::vector<std::pair<std::string, std::string>>;
  boost::asio::awaitable<Response> Post(Headers headers, std::string body);
  void Close();

 private:
  struct Conn;
  boost::asio::awaitable<std::string> Connect();
  static boost::asio::awaitable<Response> Exchange(HttpPoster* self, const Headers& headers,
                                                   const std::string& body);

  boost::asio::any_io_executor ex_;
  Url url_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Conn> conn_;
};

}  // namespace sluice::webhook
