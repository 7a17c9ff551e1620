#pragma once
// Security: the metrics name tenants, campaigns, egress addresses and
//           providers, never addresses or content; open by default (like
//           /healthz), or an operator's key as a bearer token.
// Standards: Prometheus text exposition format 0.0.4.
//
// GET /metrics: first the gauges of the delivery thread's state are read on
// that thread (`refresh`), then every family is written.

#include <functional>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "api/http_server.h"
#include "metrics/metrics.h"

namespace sluice::api {

class MetricsEndpoint {
 public:
  struct Options {
    metrics::Registry& registry;
    bool require_key = false;
    // Called on `refresh_ctx` before each scrape (both may be empty/null).
    std::function<void()> refresh;
    boost::asio::io_context* refresh_ctx = nullptr;
  };
  explicit MetricsEndpoint(Options opts) : opts_(std::move(opts)) {}

  bool require_key() const { return opts_.require_key; }
  // Answers GET; the caller has checked the key if one is needed.
  boost::asio::awaitable<HttpResponse> Handle(const HttpRequest& req);

 private:
  static boost::asio::awaitable<void> Refresh(const MetricsEndpoint* self);
  Options opts_;
};

}  // namespace sluice::api
