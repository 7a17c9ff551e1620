#include "monitor/health_book.h"

#include <algorithm>

#include <boost/json.hpp>

#include "core/time_format.h"

namespace sluice::monitor {

bool DomainHealth::Failed() const {
  return std::any_of(checks.begin(), checks.end(),
                     [](const CheckState& c) { return c.check.status == doctor::Status::kFail; });
}

std::vector<events::HealthChanged> HealthBook::Record(const std::string& domain,
                                                      const std::vector<doctor::Check>& checks,
                                                      TimePoint now) {
  std::vector<events::HealthChanged> changes;
  std::lock_guard lock(mu_);
  DomainHealth& d = domains_[domain];
  d.domain = domain;
  d.checked = now;
  std::vector<CheckState> next;
  next.reserve(checks.size());
  std::vector<bool> carried(d.checks.size(), false);  // prior states this run accounted for
  for (const auto& c : checks) {
    auto prior = std::find_if(d.checks.begin(), d.checks.end(),
                              [&](const CheckState& s) { return s.check.name == c.name; });
    if (prior != d.checks.end()) {
      carried[static_cast<std::size_t>(prior - d.checks.begin())] = true;
    }
    const bool known = prior != d.checks.end() && !prior->check.inconclusive;
    if (c.inconclusive && known) {
      CheckState kept = *prior;  // its last conclusive result
      kept.checked = now;
      kept.stale = true;
      next.push_back(std::move(kept));
      continue;
    }
    CheckState s{c, now, now, c.inconclusive};
    if (known && prior->check.status == c.status) {
      s.since = prior->since;
    } else if (!c.inconclusive &&
               (known || c.status == doctor::Status::kWarn || c.status == doctor::Status::kFail)) {
      changes.push_back({.domain = domain,
                         .check = c.name,
                         .previous = known ? doctor::StatusName(prior->check.status) : "",
                         .status = doctor::StatusName(c.status),
                         .detail = c.detail,
                         .fix = c.fix,
                         .timestamp = now});
    }
    next.push_back(std::move(s));
  }
  // A lookup that failed may have cut a check short (no SPF record read, so
  // no address checked against it): what it would have said is kept, stale.
  const bool cut_short = std::any_of(checks.begin(), checks.end(),
                                     [](const doctor::Check& c) { return c.inconclusive; });
  for (std::size_t i = 0; cut_short && i < d.checks.size(); ++i) {
    if (!carried[i]) {
      CheckState kept = d.checks[i];
      kept.stale = true;
      next.push_back(std::move(kept));
    }
  }
  d.checks = std::move(next);
  return changes;
}

std::vector<DomainHealth> HealthBook::Snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<DomainHealth> out;
  out.reserve(domains_.size());
  for (const auto& [name, d] : domains_) {
    out.push_back(d);
  }
  return out;
}

std::string HealthBook::Json() const {
  namespace json = boost::json;
  json::array domains;
  for (const auto& d : Snapshot()) {
    json::array checks;
    for (const auto& s : d.checks) {
      checks.push_back(json::object{{"name", s.check.name},
                                    {"status", doctor::StatusName(s.check.status)},
                                    {"since", Rfc3339Micros(s.since)},
                                    {"detail", s.check.detail},
                                    {"fix", s.check.fix},
                                    {"stale", s.stale}});
    }
    domains.push_back(json::object{{"domain", d.domain},
                                   {"checked_at", Rfc3339Micros(d.checked)},
                                   {"failed", d.Failed()},
                                   {"checks", std::move(checks)}});
  }
  return json::serialize(json::object{{"domains", std::move(domains)}});
}

}  // namespace sluice::monitor
