#pragma once
// Security: fetches text over HTTPS from a host the recipient domain names;
//           the certificate must chain to the trust store and name the host
//           (RFC 8461 §3.3), redirects are refused, the body is bounded and
//           the whole exchange has a deadline.
// Standards: RFC 8461 §3.3 (https://mta-sts.DOMAIN/.well-known/mta-sts.txt,
//            200 and text/plain only, no redirects), RFC 9110/9112.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include "core/result.h"
#include "dns/resolver.h"

namespace sluice::mtasts {

struct FetchFailure {
  std::string result_type;  // RFC 8460 §4.3.2.2: "sts-policy-fetch-error", "sts-webpki-invalid"
  std::string detail;
};

// Where policies come from: HTTPS (below), or a script in tests.
class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // The policy file's text for `domain`.
  virtual boost::asio::awaitable<Result<std::string, FetchFailure>> Fetch(std::string domain) = 0;
};

struct HttpsFetcherOptions {
  std::uint16_t port = 443;
  std::chrono::milliseconds timeout = std::chrono::seconds(30);
};

// Fetches over HTTPS, the host's address from `resolver`, its certificate
// checked with `tls` (tls::MakeClientContext).
std::unique_ptr<Fetcher> MakeHttpsFetcher(boost::asio::any_io_executor ex, dns::Resolver& resolver,
                                          std::shared_ptr<boost::asio::ssl::context> tls,
                                          HttpsFetcherOptions opts);

}  // namespace sluice::mtasts
