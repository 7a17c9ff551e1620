#include "auth/failure_limiter.h"

namespace sluice::auth {

bool FailureLimiter::IsLocked(const std::string& client, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(client);
  return it != entries_.end() && it->second.locked_until > now;
}

bool FailureLimiter::RecordFailure(const std::string& client, Clock::time_point now) {
  std::lock_guard lock(mu_);
  Prune(now);
  Entry& e = entries_[client];
  if (e.failures == 0 || now - e.window_start > opts_.window) {
    e.failures = 0;
    e.window_start = now;
  }
  if (++e.failures >= opts_.max_failures) {
    e.locked_until = now + opts_.lockout;
    e.failures = 0;
    return true;
  }
  return false;
}

void FailureLimiter::RecordSuccess(const std::string& client) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(client);
  if (it != entries_.end() && it->second.locked_until == Clock::time_point{}) {
    entries_.erase(it);
  }
}

void FailureLimiter::Prune(Clock::time_point now) {
  // Bounded memory: drop stale entries at most once per window.
  if (now - last_prune_ < opts_.window) {
    return;
  }
  last_prune_ = now;
  for (auto it = entries_.begin(); it != entries_.end();) {
    bool stale = it->second.locked_until <= now && now - it->second.window_start > opts_.window;
    it = stale ? entries_.erase(it) : std::next(it);
  }
}

}  // namespace sluice::auth
