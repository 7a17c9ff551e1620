#include "api/domain_check.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "core/address.h"
#include "core/time_format.h"

namespace sluice::api {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr auto kKeep = std::chrono::minutes(5);
constexpr std::size_t kMaxCached = 1000;

std::string ChecksJson(const std::string& domain, Clock::Wall::time_point at,
                       const std::vector<doctor::Check>& checks) {
  json::array list;
  for (const auto& c : checks) {
    list.push_back(json::object{{"name", c.name},
                                {"status", doctor::StatusName(c.status)},
                                {"detail", c.detail},
                                {"fix", c.fix}});
  }
  return json::serialize(json::object{{"domain", domain},
                                      {"checked_at", Rfc3339Micros(at)},
                                      {"failed", doctor::AnyFailed(checks)},
                                      {"checks", std::move(list)}});
}

}  // namespace

asio::awaitable<HttpResponse> DomainCheckApi::Handle(const HttpRequest& req) {
  if (req.method != "GET") {
    HttpResponse r = ErrorResponse(405, "method_not_allowed", "use GET");
    r.headers.emplace_back("Allow", "GET");
    co_return r;
  }
  HttpResponse r;
  auto asked = req.Query("domain");
  if (!asked) {
    json::array names;
    for (const auto& d : domains_) {
      names.emplace_back(d);
    }
    r.body = json::serialize(json::object{{"domains", std::move(names)}});
    co_return r;
  }
  auto domain = NormalizeDomain(*asked);
  if (!domain || domain->empty() || domain->front() == '[') {
    co_return ErrorResponse(400, "bad_request", "\"domain\" is a domain name");
  }
  const auto now = clock_.Now();
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(*domain); it != cache_.end() && now - it->second.at < kKeep) {
      r.body = it->second.body;
      co_return r;
    }
  }
  std::vector<doctor::Check> checks =
      co_await asio::co_spawn(ctx_, run_(*domain), asio::use_awaitable);
  r.body = ChecksJson(*domain, now, checks);
  std::lock_guard lock(mu_);
  if (cache_.size() >= kMaxCached) {
    cache_.clear();
  }
  cache_[*domain] = {now, r.body};
  co_return r;
}

}  // namespace sluice::api
