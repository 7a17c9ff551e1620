#include "shaping/path_state.h"

#include <algorithm>

namespace sluice::shaping {

void PathState::Configure(Effective settings, std::shared_ptr<const Rules> rules,
                          Clock::time_point now) {
  rules_ = std::move(rules);
  base_ = std::move(settings);
  if (limited_until_ <= now) {
    limited_until_ = {};
    Apply(base_);
  }
}

void PathState::ForgetRules() {
  limited_until_ = {};
  hits_.clear();
  base_.automation.clear();
  Apply(base_);
}

void PathState::Apply(Effective settings) {
  // A rate that did not change keeps its schedule.
  auto update = [](std::optional<Gcra>& g, const std::optional<Rate>& r) {
    if (!r) {
      g.reset();
    } else if (!g || !(g->rate() == *r)) {
      g.emplace(*r);
    }
  };
  update(message_rate_, settings.max_message_rate);
  update(connection_rate_, settings.max_connection_rate);
  settings_ = std::move(settings);
}

std::uint32_t PathState::ConnectionLimit() const {
  std::uint32_t limit = settings_.connection_limit;
  if (message_rate_ && message_rate_->interval() > settings_.idle_timeout) {
    limit = 1;  // a rate slower than a session's idle time keeps one connection busy
  }
  if (cap_ > 0) {
    limit = std::min(limit, std::max<std::uint32_t>(1, static_cast<std::uint32_t>(cap_)));
  }
  return limit;
}

bool PathState::Tick(Clock::time_point now) {
  if (limited_until_ != Clock::time_point{} && limited_until_ <= now) {
    limited_until_ = {};
    Apply(base_);  // the rule's limit has run out
    return true;
  }
  return false;
}

std::optional<Clock::time_point> PathState::NextChange(Clock::time_point now) const {
  std::optional<Clock::time_point> next;
  for (auto t : {suspended_until_, limited_until_}) {
    if (t > now) {
      next = std::min(next.value_or(t), t);
    }
  }
  return next;
}

bool PathState::SuspendUntil(Clock::time_point until) {
  if (until <= suspended_until_) {
    return false;
  }
  suspended_until_ = until;
  return true;
}

Clock::time_point PathState::ReserveConnection(Clock::time_point now) {
  return connection_rate_ ? connection_rate_->Reserve(now) : now;
}

Clock::time_point PathState::ReserveMessage(Clock::time_point now) {
  return message_rate_ ? message_rate_->Reserve(now) : now;
}

std::optional<Clock::time_point> PathState::NextMessageSlot(Clock::time_point now) const {
  if (!message_rate_) {
    return std::nullopt;
  }
  return message_rate_->NextFree(now);
}

}  // namespace sluice::shaping
