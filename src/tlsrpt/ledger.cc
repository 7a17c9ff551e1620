#include "tlsrpt/ledger.h"

#include <boost/json.hpp>

namespace sluice::tlsrpt {

namespace json = boost::json;

namespace {

constexpr std::int64_t kDay = 86400;

std::int64_t Seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

json::array Strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) {
    a.emplace_back(s);
  }
  return a;
}

std::vector<std::string> Strings(const json::value& v) {
  std::vector<std::string> out;
  for (const auto& s : v.as_array()) {
    out.emplace_back(s.as_string());
  }
  return out;
}

std::string Str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr ? std::string(v->as_string()) : std::string();
}

std::uint64_t Count(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr ? v->to_number<std::uint64_t>() : 0;
}

json::object PeriodJson(const Period& p) {
  json::object domains;
  for (const auto& [name, d] : p.domains) {
    json::array policies;
    for (const auto& [policy, c] : d.policies) {
      json::array details;
      for (const auto& [f, n] : c.details) {
        details.push_back(json::object{{"result", f.result_type},
                                       {"source", f.sending_ip},
                                       {"mx", f.receiving_mx},
                                       {"ip", f.receiving_ip},
                                       {"n", n}});
      }
      policies.push_back(json::object{{"type", policy.type},
                                      {"strings", Strings(policy.strings)},
                                      {"mx", Strings(policy.mx_hosts)},
                                      {"ok", c.successes},
                                      {"failed", c.failures},
                                      {"details", std::move(details)}});
    }
    domains[name] = json::object{{"policies", std::move(policies)},
                                 {"delivered", Strings(d.delivered)},
                                 {"attempts", d.attempts}};
  }
  return json::object{{"start", p.start}, {"end", p.end}, {"domains", std::move(domains)}};
}

Period PeriodFrom(const json::object& o) {
  Period p;
  p.start = o.at("start").to_number<std::int64_t>();
  p.end = o.at("end").to_number<std::int64_t>();
  for (const auto& [name, dv] : o.at("domains").as_object()) {
    const auto& d = dv.as_object();
    DomainCounts& counts = p.domains[std::string(name)];
    for (const auto& pv : d.at("policies").as_array()) {
      const auto& po = pv.as_object();
      Policy policy{Str(po, "type"), Strings(po.at("strings")), Strings(po.at("mx"))};
      PolicyCounts& c = counts.policies[std::move(policy)];
      c.successes = Count(po, "ok");
      c.failures = Count(po, "failed");
      for (const auto& fv : po.at("details").as_array()) {
        const auto& fo = fv.as_object();
        c.details[{Str(fo, "result"), Str(fo, "source"), Str(fo, "mx"), Str(fo, "ip")}] =
            Count(fo, "n");
      }
    }
    if (const auto* del = d.if_contains("delivered")) {
      counts.delivered = Strings(*del);
    }
    counts.attempts = static_cast<std::uint32_t>(Count(d, "attempts"));
  }
  return p;
}

}  // namespace

std::int64_t DayStart(std::chrono::system_clock::time_point t) {
  const std::int64_t s = Seconds(t);
  return s - ((s % kDay) + kDay) % kDay;
}

void Ledger::Roll(Time now) {
  if (open_ && Seconds(now) >= open_->end) {
    next_start_ = open_->end;
    closed_.push_back(std::move(*open_));
    open_.reset();
    dirty_ = true;
  }
}

void Ledger::Cut(Time now) {
  Roll(now);
  if (!open_) {
    return;
  }
  open_->end = std::max(open_->start + 1, Seconds(now));
  next_start_ = open_->end;
  if (!open_->domains.empty()) {
    closed_.push_back(std::move(*open_));
  }
  open_.reset();
  dirty_ = true;
}

PolicyCounts* Ledger::Counts(Time now, std::string_view domain, const Policy& policy) {
  Roll(now);
  if (!open_) {
    const std::int64_t day = DayStart(now);
    open_.emplace();
    open_->start = std::max(day, std::min(next_start_, Seconds(now)));
    open_->end = day + kDay;
  }
  auto d = open_->domains.find(domain);
  if (d == open_->domains.end()) {
    if (open_->domains.size() >= limits_.domains) {
      ++dropped_;
      return nullptr;
    }
    d = open_->domains.emplace(std::string(domain), DomainCounts{}).first;
  }
  auto p = d->second.policies.find(policy);
  if (p == d->second.policies.end()) {
    if (d->second.policies.size() >= limits_.policies) {
      ++dropped_;
      return nullptr;
    }
    p = d->second.policies.emplace(policy, PolicyCounts{}).first;
  }
  dirty_ = true;
  return &p->second;
}

void Ledger::Success(Time now, std::string_view domain, const Policy& policy) {
  if (auto* c = Counts(now, domain, policy)) {
    ++c->successes;
  }
}

void Ledger::Failure(Time now, std::string_view domain, const Policy& policy,
                     const tlsrpt::Failure& f) {
  auto* c = Counts(now, domain, policy);
  if (c == nullptr) {
    return;
  }
  ++c->failures;
  auto it = c->details.find(f);
  if (it != c->details.end()) {
    ++it->second;
  } else if (c->details.size() < limits_.details) {
    c->details.emplace(f, 1);
  }
}

std::string Ledger::Serialize() {
  json::array closed;
  for (const auto& p : closed_) {
    closed.push_back(PeriodJson(p));
  }
  json::object o{{"version", 1}, {"next_start", next_start_}, {"closed", std::move(closed)}};
  if (open_) {
    o["open"] = PeriodJson(*open_);
  }
  dirty_ = false;
  return json::serialize(o);
}

Result<Ok, std::string> Ledger::Deserialize(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    return Fail("not a JSON object: " + (ec ? ec.message() : std::string("wrong type")));
  }
  try {
    const auto& o = v.as_object();
    if (o.at("version").to_number<int>() != 1) {
      return Fail(std::string("unknown version"));
    }
    std::deque<Period> closed;
    for (const auto& p : o.at("closed").as_array()) {
      closed.push_back(PeriodFrom(p.as_object()));
    }
    std::optional<Period> open;
    if (const auto* p = o.if_contains("open")) {
      open = PeriodFrom(p->as_object());
    }
    next_start_ = o.at("next_start").to_number<std::int64_t>();
    closed_ = std::move(closed);
    open_ = std::move(open);
  } catch (const std::exception& e) {
    return Fail(std::string("malformed: ") + e.what());
  }
  dirty_ = false;
  return Ok{};
}

}  // namespace sluice::tlsrpt
