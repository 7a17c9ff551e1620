#include "shaping/shaper.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

namespace sluice::shaping {

namespace {

// The key of a tenant or campaign suspension on a site; none for mail without
// a tenant (or campaign), which is no group: DSNs and untagged mail are held
// only by path rules.
std::optional<std::string> GroupKey(Scope scope, std::string_view tenant, std::string_view campaign,
                                    std::string_view site) {
  if (scope == Scope::kTenant) {
    return tenant.empty() ? std::nullopt : std::optional(fmt::format("tenant {}|{}", tenant, site));
  }
  return campaign.empty() ? std::nullopt
                          : std::optional(fmt::format("campaign {}:{}|{}", campaign, tenant, site));
}

Announcement OnPath(std::string rule, std::string action, Clock::time_point until) {
  Announcement a;
  a.rule = std::move(rule);
  a.action = std::move(action);
  a.until = until;
  return a;
}

}  // namespace

Shaper::Shaper(const sluice::Clock& clock, ShaperOptions opts, std::shared_ptr<Warmup> warmup)
    : clock_(clock), opts_(opts), warmup_(std::move(warmup)) {}

bool Shaper::OnReply(PathState& path, const Reply& r, std::uint32_t active, const Group* group,
                     std::vector<Announcement>& out) {
  const auto now = clock_.SteadyNow();
  if (r.code == 421) {
    // The receiver asks us to back off: halve this path's concurrency; it
    // grows back by about one connection per window of successes (slow
    // start, as Postfix and PowerMTA do).
    double from = path.cap_ > 0 ? path.cap_
                                : static_cast<double>(std::max<std::uint32_t>(
                                      1, std::min(active, path.ConnectionLimit())));
    double to = std::max(1.0, from / 2);
    if (path.cap_ == 0 || to < path.cap_) {
      path.cap_ = to;
      out.push_back(OnPath("built-in: 421 from the receiver", "halve concurrency", now));
    }
  }
  bool bounce = false;
  // A copy: a "limit" action replaces the settings (and so this list).
  const std::vector<const Automation*> rules = path.settings_.automation;
  for (const Automation* a : rules) {
    if (!Matches(*a, r.code, r.enhanced, r.text)) {
      continue;
    }
    if (a->threshold > 1) {
      // A tenant or campaign rule counts each group's replies apart.
      std::string key;
      if (a->action == Action::kSuspend && a->scope != Scope::kPath) {
        auto k = group ? GroupKey(a->scope, group->tenant, group->campaign, "") : std::nullopt;
        if (!k) {
          continue;  // no group to count for (nor to suspend)
        }
        key = std::move(*k);
      }
      if (path.hits_.size() > 64) {
        // Many groups seen once: forget those whose last match is out of its window.
        std::erase_if(path.hits_, [now](const auto& e) {
          return e.second.empty() || now - e.second.back() > e.first.first->window;
        });
      }
      auto& h = path.hits_[{a, key}];
      h.push_back(now);
      while (!h.empty() && now - h.front() > a->window) {
        h.pop_front();
      }
      if (h.size() < a->threshold) {
        continue;
      }
      path.hits_.erase({a, key});  // counted out: the next window starts empty
    }
    switch (a->action) {
      case Action::kSuspend:
        if (a->scope == Scope::kPath) {
          Suspend(path, a->duration, a->name, /*keep=*/true, out);
        } else if (group != nullptr) {
          // A reply to a connection (greeting, EHLO) is about no one message:
          // a tenant or campaign rule acts only on replies in a transaction.
          SuspendGroup(path, a->scope, *group, a->duration, a->name, out);
        }
        break;
      case Action::kLimit: {
        auto until = now + a->duration;
        if (path.limited_until_ < until) {
          Effective limited = path.base_;
          Layer(limited, a->limit, "rule " + a->name);
          limited.automation = path.base_.automation;
          path.Apply(std::move(limited));
          path.limited_until_ = until;
          out.push_back(OnPath(a->name, "limit", until));
        }
        break;
      }
      case Action::kBounce:
        bounce = true;
        break;
    }
  }
  return bounce;
}

void Shaper::OnConnectFailed(PathState& path, std::vector<Announcement>& out) {
  ++path.fail_streak_;
  if (opts_.failure_backoff.count() <= 0) {
    return;
  }
  // Dead-destination back-off, doubling per failure in a row.
  auto backoff = opts_.failure_backoff;
  for (std::uint32_t i = 1; i < path.fail_streak_ && backoff < opts_.max_failure_backoff; ++i) {
    backoff *= 2;
  }
  backoff = std::min(backoff, opts_.max_failure_backoff);
  Suspend(path, backoff,
          fmt::format("built-in: {} failed connection{} in a row", path.fail_streak_,
                      path.fail_streak_ == 1 ? "" : "s"),
          /*keep=*/false, out);
}

void Shaper::OnConnected(PathState& path) {
  path.fail_streak_ = 0;
}

void Shaper::OnSuccess(PathState& path) {
  path.fail_streak_ = 0;
  if (path.cap_ > 0) {
    path.cap_ += 1.0 / path.cap_;
    if (path.cap_ >= path.settings_.connection_limit) {
      path.cap_ = 0;  // recovered
    }
  }
}

void Shaper::Suspend(PathState& path, Clock::duration how_long, std::string rule, bool keep,
                     std::vector<Announcement>& out) {
  auto until = clock_.SteadyNow() + how_long;
  if (!path.SuspendUntil(until)) {
    return;
  }
  if (keep) {
    // A reply rule's suspension is kept over restarts (a built-in back-off is not).
    kept_[path.name()] = until;
    dirty_ = true;
  }
  out.push_back(OnPath(std::move(rule), "suspend", until));
}

void Shaper::Restore(PathState& path) const {
  auto kept = kept_.find(path.name());
  if (kept != kept_.end()) {
    path.SuspendUntil(kept->second);
  }
}

void Shaper::SuspendGroup(const PathState& path, Scope scope, const Group& group,
                          Clock::duration how_long, const std::string& rule,
                          std::vector<Announcement>& out) {
  auto key = GroupKey(scope, group.tenant, group.campaign, path.route_site());
  if (!key) {
    return;
  }
  auto now = clock_.SteadyNow();
  std::erase_if(groups_, [now](const auto& g) { return g.second <= now; });
  auto until = now + how_long;
  auto& slot = groups_[*key];
  if (until <= slot) {
    return;
  }
  slot = until;
  dirty_ = true;
  const bool by_tenant = scope == Scope::kTenant;
  Announcement a = OnPath(rule, by_tenant ? "suspend tenant" : "suspend campaign", until);
  a.group = true;
  a.tenant = group.tenant;
  a.campaign = by_tenant ? std::string_view() : group.campaign;
  out.push_back(std::move(a));
}

std::optional<Clock::time_point> Shaper::GroupSuspended(std::string_view tenant,
                                                        std::string_view campaign,
                                                        const std::string& route_site) {
  if (groups_.empty()) {
    return std::nullopt;
  }
  auto now = clock_.SteadyNow();
  std::optional<Clock::time_point> until;
  for (auto scope : {Scope::kTenant, Scope::kCampaign}) {
    auto key = GroupKey(scope, tenant, campaign, route_site);
    if (!key) {
      continue;
    }
    auto it = groups_.find(*key);
    if (it == groups_.end()) {
      continue;
    }
    if (it->second <= now) {
      groups_.erase(it);  // lifted by itself
      continue;
    }
    until = std::max(until.value_or(it->second), it->second);
  }
  return until;
}

std::vector<GroupSuspension> Shaper::GroupSuspensions() const {
  std::vector<GroupSuspension> out;
  auto now = clock_.SteadyNow();
  for (const auto& [key, until] : groups_) {
    if (until <= now) {
      continue;
    }
    // "tenant NAME|site" or "campaign NAME:TENANT|site"
    GroupSuspension g;
    auto space = key.find(' ');
    auto bar = key.find('|');
    g.scope = key.substr(0, space);
    std::string who = key.substr(space + 1, bar - space - 1);
    if (g.scope == "campaign") {
      auto colon = who.find(':');
      g.campaign = who.substr(0, colon);
      g.tenant = who.substr(colon + 1);
    } else {
      g.tenant = who;
    }
    g.site = key.substr(bar + 1);
    g.until = clock_.ToWall(until);
    out.push_back(std::move(g));
  }
  return out;
}

bool Shaper::TakeWarmup(const std::string& source, const std::string& provider) {
  if (!warmup_) {
    return true;
  }
  if (!warmup_->TryTake(source, provider, clock_.Now())) {
    return false;
  }
  dirty_ |= warmup_->HasSchedule(source);
  return true;
}

void Shaper::GiveBackWarmup(const std::string& source, const std::string& provider) {
  if (warmup_ && warmup_->HasSchedule(source)) {
    warmup_->GiveBack(source, provider, clock_.Now());
    dirty_ = true;
  }
}

sluice::Clock::Wall::time_point Shaper::NextWarmupDay(const std::string& source) const {
  return warmup_ ? warmup_->NextDay(source, clock_.Now()) : sluice::Clock::Wall::time_point::max();
}

std::vector<Warmup::SourceStatus> Shaper::WarmupStatus() const {
  return warmup_ ? warmup_->Status(clock_.Now()) : std::vector<Warmup::SourceStatus>{};
}

std::string Shaper::StateText() const {
  // "path UNTIL_US NAME", "group UNTIL_US KEY" (wall-clock microseconds), and
  // the warm-up counts, each line prefixed "warmup ".
  std::string text;
  auto now = clock_.SteadyNow();
  for (const auto& [name, until] : kept_) {
    if (until > now) {
      text += fmt::format("path {} {}\n", ToMicros(clock_.ToWall(until)), name);
    }
  }
  for (const auto& [key, until] : groups_) {
    if (until > now) {
      text += fmt::format("group {} {}\n", ToMicros(clock_.ToWall(until)), key);
    }
  }
  if (warmup_) {
    std::istringstream counts(warmup_->Save());
    for (std::string line; std::getline(counts, line);) {
      text += "warmup " + line + "\n";
    }
  }
  return text;
}

bool Shaper::LoadState(const std::string& text) {
  std::istringstream in(text);
  std::string warmup_text;
  bool ok = true;
  auto now = clock_.SteadyNow();
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) {
      continue;
    }
    std::istringstream fields(line);
    std::string kind;
    fields >> kind;
    if (kind == "warmup") {
      std::string rest;
      std::getline(fields >> std::ws, rest);
      warmup_text += rest + "\n";
      continue;
    }
    std::int64_t until_us = 0;
    std::string key;
    if (!(fields >> until_us) || !std::getline(fields >> std::ws, key) || key.empty() ||
        (kind != "path" && kind != "group")) {
      ok = false;
      continue;
    }
    auto until = clock_.ToSteady(FromMicros(until_us));
    if (until <= now) {
      continue;
    }
    (kind == "path" ? kept_ : groups_)[key] = until;
  }
  if (warmup_ && !warmup_text.empty() && !warmup_->Load(warmup_text)) {
    ok = false;
  }
  return ok;
}

}  // namespace sluice::shaping
