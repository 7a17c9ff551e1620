#pragma once
// Security: a tenant's key sees its own tenant's counts only (asking for
//           another's is a 403); an operator's key sees every tenant's.
// Standards: RFC 9110 (methods, status codes), RFC 8259 (JSON), RFC 3339.
//
// GET /api/v1/stats: counters over time (stats/query.h).
//   from, to    RFC 3339 times (default: the last 24 hours)
//   step        "minute", "hour", "day" or a duration of whole minutes ("5m",
//               "6h", "7d"); default by the range (minutes up to 6 hours,
//               hours up to 7 days, days past that)
//   group_by    dimensions, comma-separated: tenant, campaign, provider,
//               domain, source
//   tenant, campaign, provider, domain, source  only rows with that value
//               ("" : rows without one)
//   metrics     names, comma-separated (default: all)
//   limit       groups, biggest first (default 100, at most 1000)
// -> {"from", "to", "step" (seconds), "resolution", "buckets": [RFC 3339
//    starts], "metrics": [names], "series": [{"group": {dimension: value},
//    "totals": {metric: n}, "values": {metric: [n per bucket]}}],
//    "groups_omitted"}
//
// GET /api/v1/events/recent?kind=bounce|complaint|unsubscribe&limit=N: the
// latest records of that kind (stats/recent.h), newest first, and for
// bounces the most frequent replies: {"events": [...], "top_replies":
// [{"tenant", "class", "reply", "count"}]}.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/http_server.h"
#include "auth/api_keys.h"
#include "core/clock.h"
#include "stats/recent.h"
#include "stats/store.h"

namespace sluice::api {

class StatsApi {
 public:
  // Reads run on `blocking` (a long range reads many rows). `store` null:
  // statistics are off (404).
  StatsApi(stats::Store* store, const stats::Recent& recent, boost::asio::thread_pool& blocking,
           const Clock& clock)
      : store_(store), recent_(recent), blocking_(blocking), clock_(clock) {}

  boost::asio::awaitable<HttpResponse> Handle(const HttpRequest& req, const auth::ApiKey& key);
  HttpResponse Recent(const HttpRequest& req, const auth::ApiKey& key) const;

 private:
  stats::Store* store_;
  const stats::Recent& recent_;
  boost::asio::thread_pool& blocking_;
  const Clock& clock_;
};

}  // namespace sluice::api
