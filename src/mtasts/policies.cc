#include "mtasts/policies.h"

#include <sstream>

#include <spdlog/spdlog.h>

#include "core/durable_file.h"

namespace sluice::mtasts {

namespace {

std::int64_t Micros(Clock::Wall::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

}  // namespace

Policies::Policies(const Clock& clock, dns::Resolver& resolver, Fetcher& fetcher,
                   std::string state_file)
    : clock_(clock), resolver_(resolver), fetcher_(fetcher), state_file_(std::move(state_file)) {}

std::shared_ptr<const Policy> Policies::Cached(const std::string& domain) const {
  auto it = cache_.find(domain);
  if (it == cache_.end() || it->second->expires_us <= Micros(clock_.Now())) {
    return nullptr;
  }
  return it->second;
}

boost::asio::awaitable<Lookup> Policies::For(std::string domain) {
  Lookup out;
  out.policy = Cached(domain);
  if (!out.policy) {
    cache_.erase(domain);
  }
  // RFC 8461 §3.1, §5.1: no usable record (or no answer) leaves the cached
  // policy, if any, in force.
  auto txt = co_await resolver_.ResolveTxt("_mta-sts." + domain);
  if (!txt) {
    co_return out;
  }
  auto record = PickRecord(*txt);
  if (!record) {
    co_return out;
  }
  if (out.policy && out.policy->id == record->id) {
    co_return out;  // unchanged
  }
  auto text = co_await fetcher_.Fetch(domain);
  if (!text) {
    spdlog::info("MTA-STS {}: cannot fetch the policy: {}", domain, text.error().detail);
    out.failure = text.error();
    co_return out;
  }
  auto parsed = ParsePolicy(*text);
  if (!parsed) {
    spdlog::info("MTA-STS {}: the policy is not valid: {}", domain, parsed.error());
    out.failure = FetchFailure{"sts-policy-invalid", parsed.error()};
    co_return out;
  }
  auto p = std::make_shared<Policy>(std::move(parsed).value());
  p->id = record->id;
  p->fetched_us = Micros(clock_.Now());
  p->expires_us = p->fetched_us + static_cast<std::int64_t>(p->max_age) * 1'000'000;
  spdlog::info("MTA-STS {}: policy {} mode {} max_age {}", domain, p->id, ToString(p->mode),
               p->max_age);
  cache_[domain] = p;
  out.policy = std::move(p);
  Save();
  co_return out;
}

std::string Policies::Serialize() const {
  // One line per domain: domain id mode max_age fetched_us expires_us mx,mx,...
  std::string out;
  for (const auto& [domain, p] : cache_) {
    out += domain + ' ' + p->id + ' ' + ToString(p->mode) + ' ' + std::to_string(p->max_age) + ' ' +
           std::to_string(p->fetched_us) + ' ' + std::to_string(p->expires_us) + ' ';
    for (std::size_t i = 0; i < p->mx.size(); ++i) {
      out += (i == 0 ? "" : ",") + p->mx[i];
    }
    out += '\n';
  }
  return out;
}

void Policies::Deserialize(std::string_view text) {
  const std::int64_t now = Micros(clock_.Now());
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string domain, id, mode, mx;
    Policy p;
    if (!(f >> domain >> id >> mode >> p.max_age >> p.fetched_us >> p.expires_us)) {
      continue;
    }
    f >> mx;
    p.id = id;
    if (mode == "enforce") {
      p.mode = Mode::kEnforce;
    } else if (mode == "testing") {
      p.mode = Mode::kTesting;
    } else if (mode != "none") {
      continue;
    }
    std::size_t at = 0;
    while (at < mx.size()) {
      auto comma = mx.find(',', at);
      p.mx.push_back(mx.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
      at = comma == std::string::npos ? mx.size() : comma + 1;
    }
    if (p.expires_us > now && (p.mode == Mode::kNone || !p.mx.empty())) {
      cache_[domain] = std::make_shared<Policy>(std::move(p));
    }
  }
}

bool Policies::Load(std::string* error) {
  if (state_file_.empty()) {
    return true;
  }
  std::string text;
  if (!ReadWholeFile(state_file_, &text)) {
    *error = "cannot read " + state_file_;
    return false;
  }
  Deserialize(text);
  return true;
}

void Policies::Save() {
  if (state_file_.empty()) {
    return;
  }
  std::string error;
  if (!ReplaceFileDurably(state_file_, Serialize(), &error)) {
    spdlog::warn("MTA-STS: cannot save the policies: {}", error);
  }
}

}  // namespace sluice::mtasts
