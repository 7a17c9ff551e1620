#pragma once
// Security: operator only (it makes DNS and HTTPS requests on demand);
//           answers are kept five minutes per domain, so a dashboard left
//           open does not query DNS every few seconds.
// Standards: RFC 9110 (methods, status codes), RFC 8259 (JSON).
//
// The sending domains' DNS check (doctor/doctor.h) over HTTP:
//   GET /api/v1/doctor              {"domains": [the configured sending domains]}
//   GET /api/v1/doctor?domain=D     {"domain", "checked_at", "failed",
//                                    "checks": [{"name", "status", "detail", "fix"}]}

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "api/http_server.h"
#include "core/clock.h"
#include "doctor/doctor.h"

namespace sluice::api {

class DomainCheckApi {
 public:
  // Runs the checks of a domain; called on `ctx` (the resolver's).
  using Runner = std::function<boost::asio::awaitable<std::vector<doctor::Check>>(std::string)>;
  DomainCheckApi(Runner run, std::vector<std::string> domains, boost::asio::io_context& ctx,
                 const Clock& clock)
      : run_(std::move(run)), domains_(std::move(domains)), ctx_(ctx), clock_(clock) {}

  boost::asio::awaitable<HttpResponse> Handle(const HttpRequest& req);

 private:
  struct Cached {
    Clock::Wall::time_point at;
    std::string body;
  };
  Runner run_;
  std::vector<std::string> domains_;
  boost::asio::io_context& ctx_;
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Cached> cache_;
};

}  // namespace sluice::api
