#include "api/stats.h"

#include <charconv>

#include <boost/json.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include "config/config.h"
#include "core/result.h"
#include "core/time_format.h"
#include "runtime/blocking.h"
#include "stats/query.h"

namespace sluice::api {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string Utc(stats::Store::TimePoint t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", std::chrono::floor<std::chrono::seconds>(t));
}

std::string_view ResolutionName(stats::Resolution r) {
  switch (r) {
    case stats::Resolution::kMinute:
      return "minute";
    case stats::Resolution::kHour:
      return "hour";
    case stats::Resolution::kDay:
      break;
  }
  return "day";
}

std::vector<std::string> SplitCommas(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const auto comma = s.find(',');
    auto part = s.substr(0, comma);
    while (!part.empty() && part.front() == ' ') {
      part.remove_prefix(1);
    }
    while (!part.empty() && part.back() == ' ') {
      part.remove_suffix(1);
    }
    if (!part.empty()) {
      out.emplace_back(part);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    s.remove_prefix(comma + 1);
  }
  return out;
}

HttpResponse Bad(std::string_view message) {
  return ErrorResponse(400, "bad_request", message);
}

// The question in the request's parameters, or the answer saying what is wrong.
Result<stats::Query, HttpResponse> ParseQuery(const HttpRequest& req, const auth::ApiKey& key,
                                              stats::Store::TimePoint now) {
  stats::Query q;
  q.to = now;
  if (auto to = req.Query("to")) {
    auto t = ParseRfc3339(*to);
    if (!t) {
      return Fail(Bad("\"to\" is an RFC 3339 time (2026-12-07T10:00:00Z)"));
    }
    q.to = *t;
  }
  q.from = q.to - 24h;
  if (auto from = req.Query("from")) {
    auto t = ParseRfc3339(*from);
    if (!t) {
      return Fail(Bad("\"from\" is an RFC 3339 time (2026-12-07T10:00:00Z)"));
    }
    q.from = *t;
  }
  if (q.to <= q.from) {
    return Fail(Bad("\"to\" comes after \"from\""));
  }
  const auto range = q.to - q.from;
  q.step = range <= 6h ? std::chrono::seconds(60) : range <= 7 * 24h ? 3600s : 86400s;
  if (auto step = req.Query("step")) {
    if (*step == "minute") {
      q.step = 60s;
    } else if (*step == "hour") {
      q.step = 3600s;
    } else if (*step == "day") {
      q.step = 86400s;
    } else {
      auto d = config::ParseDuration(*step);
      if (!d || d->count() <= 0 || d->count() % 60000 != 0 || *d > stats::kMaxStep) {
        return Fail(
            Bad("\"step\" is minute, hour, day or a whole number of minutes (5m, 6h), "
                "at most 3660d"));
      }
      q.step = std::chrono::duration_cast<std::chrono::seconds>(*d);
    }
  }
  if (auto g = req.Query("group_by")) {
    for (const auto& name : SplitCommas(*g)) {
      auto d = stats::DimByName(name);
      if (!d) {
        return Fail(Bad("\"group_by\" names tenant, campaign, provider, domain or source; not \"" +
                        name + "\""));
      }
      q.group_by.push_back(*d);
    }
  }
  for (std::size_t d = 0; d < stats::kDims; ++d) {
    q.filters[d] = req.Query(stats::DimName(static_cast<stats::Dim>(d)));
  }
  auto& tenant = q.filters[static_cast<std::size_t>(stats::Dim::kTenant)];
  if (!key.operator_key()) {
    if (tenant && *tenant != key.tenant) {
      return Fail(
          ErrorResponse(403, "forbidden", "a tenant key sees its own tenant's counts only"));
    }
    tenant = key.tenant;
  }
  if (auto m = req.Query("metrics")) {
    for (const auto& name : SplitCommas(*m)) {
      auto slot = stats::SlotByName(name);
      if (!slot) {
        return Fail(Bad("no metric \"" + name + "\" (see the API description for the names)"));
      }
      q.metrics.push_back(*slot);
    }
  }
  if (auto l = req.Query("limit")) {
    std::size_t n = 0;
    auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), n);
    if (ec != std::errc() || p != l->data() + l->size() || n < 1 || n > stats::kMaxGroups) {
      return Fail(Bad(fmt::format("\"limit\" is 1 to {}", stats::kMaxGroups)));
    }
    q.limit = n;
  }
  return q;
}

std::string AnswerJson(const stats::Answer& a, const std::vector<stats::Dim>& group_by) {
  std::vector<std::string> names;
  for (auto slot : a.metrics) {
    for (const auto& m : stats::Metrics()) {
      if (m.slot == slot) {
        names.push_back(m.name);
      }
    }
  }
  json::array buckets;
  for (auto t = a.from; t < a.to; t += a.step) {
    buckets.emplace_back(Utc(t));
  }
  json::array series;
  for (const auto& s : a.series) {
    json::object group;
    for (auto d : group_by) {
      group[stats::DimName(d)] = s.group[static_cast<std::size_t>(d)];
    }
    json::object totals;
    json::object values;
    for (std::size_t m = 0; m < names.size(); ++m) {
      totals[names[m]] = s.totals[m];
      json::array v;
      v.reserve(s.values[m].size());
      for (auto n : s.values[m]) {
        v.emplace_back(n);
      }
      values[names[m]] = std::move(v);
    }
    series.emplace_back(json::object{
        {"group", std::move(group)}, {"totals", std::move(totals)}, {"values", std::move(values)}});
  }
  json::array metric_names;
  for (const auto& n : names) {
    metric_names.emplace_back(n);
  }
  return json::serialize(json::object{{"from", Utc(a.from)},
                                      {"to", Utc(a.to)},
                                      {"step", a.step.count()},
                                      {"resolution", ResolutionName(a.resolution)},
                                      {"buckets", std::move(buckets)},
                                      {"metrics", std::move(metric_names)},
                                      {"series", std::move(series)},
                                      {"groups_omitted", a.groups_omitted}});
}

}  // namespace

boost::asio::awaitable<HttpResponse> StatsApi::Handle(const HttpRequest& req,
                                                      const auth::ApiKey& key) {
  if (req.method != "GET") {
    HttpResponse r = ErrorResponse(405, "method_not_allowed", "use GET");
    r.headers.emplace_back("Allow", "GET");
    co_return r;
  }
  if (store_ == nullptr) {
    co_return ErrorResponse(404, "not_found", "statistics are off ([stats] enabled = false)");
  }
  auto q = ParseQuery(req, key, clock_.Now());
  if (!q) {
    co_return q.error();
  }
  struct Outcome {
    unsigned status = 200;
    std::string body;
  };
  Outcome out = co_await runtime::RunBlocking(blocking_, [this, &q] {
    auto a = stats::Aggregate(*store_, *q);
    if (!a) {
      return Outcome{400, a.error()};
    }
    return Outcome{200, AnswerJson(*a, q->group_by)};
  });
  if (out.status != 200) {
    co_return Bad(out.body);
  }
  HttpResponse r;
  r.body = std::move(out.body);
  co_return r;
}

HttpResponse StatsApi::Recent(const HttpRequest& req, const auth::ApiKey& key) const {
  if (req.method != "GET") {
    HttpResponse r = ErrorResponse(405, "method_not_allowed", "use GET");
    r.headers.emplace_back("Allow", "GET");
    return r;
  }
  const auto kind = stats::RecentKindByName(req.Query("kind").value_or(""));
  if (!kind) {
    return Bad("\"kind\" is bounce, complaint or unsubscribe");
  }
  std::size_t limit = 50;
  if (auto l = req.Query("limit")) {
    auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
    if (ec != std::errc() || p != l->data() + l->size() || limit < 1 || limit > 200) {
      return Bad("\"limit\" is 1 to 200");
    }
  }
  std::optional<std::string> tenant = req.Query("tenant");
  if (!key.operator_key()) {
    if (tenant && *tenant != key.tenant) {
      return ErrorResponse(403, "forbidden", "a tenant key sees its own tenant's events only");
    }
    tenant = key.tenant;
  }
  json::array events;
  for (const auto& line : recent_.Records(*kind, tenant, limit)) {
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (!ec) {
      events.push_back(std::move(v));
    }
  }
  json::object out{{"events", std::move(events)}};
  if (*kind == stats::RecentKind::kBounce) {
    json::array top;
    for (const auto& r : recent_.TopReplies(tenant, limit)) {
      top.push_back(json::object{
          {"tenant", r.tenant}, {"class", r.klass}, {"reply", r.text}, {"count", r.count}});
    }
    out["top_replies"] = std::move(top);
  }
  HttpResponse r;
  r.body = json::serialize(out);
  return r;
}

}  // namespace sluice::api
