#pragma once
// Security: holds what public DNS said of our own domains; no secrets.
// Standards: none (the checks are doctor/'s).
//
// The latest result of every scheduled check of every sending domain, and
// what changed since the run before. A check whose lookup failed for a
// transient reason keeps the result it had (a SERVFAIL says nothing of the
// record), as do the checks such a failure cut short. A check seen for the
// first time is news only when it does not pass, so a start-up reports what
// is wrong, not everything that is right.

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "doctor/doctor.h"
#include "events/events.h"

namespace sluice::monitor {

using TimePoint = std::chrono::system_clock::time_point;

struct CheckState {
  doctor::Check check;  // the latest conclusive result (or the first, if none was)
  TimePoint since;      // when its status became what it is
  TimePoint checked;    // when it last ran
  bool stale = false;   // the last run could not tell (a transient lookup failure)
};

struct DomainHealth {
  std::string domain;
  TimePoint checked;               // the latest run
  std::vector<CheckState> checks;  // in the doctor's order
  bool Failed() const;             // any check fails
};

class HealthBook {
 public:
  // A run's results for `domain`; returns the changes it brings (to publish).
  std::vector<events::HealthChanged> Record(const std::string& domain,
                                            const std::vector<doctor::Check>& checks,
                                            TimePoint now);
  // Every domain's state, by name.
  std::vector<DomainHealth> Snapshot() const;
  // GET /api/v1/health/domains: {"domains": [{"domain", "checked_at", "failed",
  //   "checks": [{"name", "status", "since", "detail", "fix", "stale"}]}]}
  std::string Json() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, DomainHealth> domains_;
};

}  // namespace sluice::monitor
