#pragma once
// Security: none (bounds what we send to one destination from one source).
// Standards: RFC 5321 §4.5.4.1 (a 421 asks the client to come back later).
//
// One egress path: mail from one source to one site (MX host set). Its
// settings in force (shaping rules resolved for it, or a reply rule's
// temporary limit), its rates, and what the receiver's replies have done to
// it: a concurrency cap after 421s that grows back slowly, a suspension (a
// rule's, or the dead-destination back-off), and the recent matches of
// threshold rules. No I/O and no clock of its own: every call is given `now`.
// The Shaper (shaper.h) makes the observations; delivery asks the questions.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "shaping/gcra.h"
#include "shaping/rules.h"

namespace sluice::shaping {

class PathState {
 public:
  PathState(std::string name, std::string route_site, std::size_t source)
      : name_(std::move(name)), route_site_(std::move(route_site)), source_(source) {}

  const std::string& name() const { return name_; }
  // The site without the source (what tenant and campaign suspensions name).
  const std::string& route_site() const { return route_site_; }
  std::size_t source() const { return source_; }

  // The settings the rules give this path; in force unless a reply rule's
  // temporary limit is. `rules` keeps the settings' reply rules alive.
  void Configure(Effective settings, std::shared_ptr<const Rules> rules, Clock::time_point now);
  // New rules were loaded: the old ones' reply rules, counts and limits end.
  void ForgetRules();
  const Effective& settings() const { return settings_; }

  // The connections the path may have now: its limit, one if its message
  // rate is slower than a session's idle time, less after 421s.
  std::uint32_t ConnectionLimit() const;
  // The reduced concurrency after 421s (0: not reduced).
  double cap() const { return cap_; }
  std::uint32_t fail_streak() const { return fail_streak_; }

  bool Suspended(Clock::time_point now) const { return suspended_until_ > now; }
  Clock::time_point suspended_until() const { return suspended_until_; }
  // Ends a temporary limit whose time is up; true if the settings changed.
  bool Tick(Clock::time_point now);
  // When the path changes by itself next (a suspension or a limit ends).
  std::optional<Clock::time_point> NextChange(Clock::time_point now) const;

  // Rates: the time a new connection or message may go (reserving it), and
  // when the next message would, without reserving.
  Clock::time_point ReserveConnection(Clock::time_point now);
  Clock::time_point ReserveMessage(Clock::time_point now);
  std::optional<Clock::time_point> NextMessageSlot(Clock::time_point now) const;

 private:
  friend class Shaper;
  void Apply(Effective settings);
  // Suspends until `until` unless already suspended longer; true if it moved.
  bool SuspendUntil(Clock::time_point until);

  std::string name_;
  std::string route_site_;
  std::size_t source_;
  Effective settings_;                  // in force
  Effective base_;                      // the same without a rule's temporary limit
  std::shared_ptr<const Rules> rules_;  // keeps settings_.automation alive
  Clock::time_point suspended_until_{};
  Clock::time_point limited_until_{};
  // Recent matches of threshold rules, per rule (and per group, for tenant
  // and campaign rules).
  std::map<std::pair<const Automation*, std::string>, std::deque<Clock::time_point>> hits_;
  double cap_ = 0;
  std::uint32_t fail_streak_ = 0;
  std::optional<Gcra> message_rate_;
  std::optional<Gcra> connection_rate_;
};

}  // namespace sluice::shaping
