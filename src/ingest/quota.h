#pragma once
// Security: keeps one tenant from taking more than its share of intake: a
//           count of messages per clock hour and per UTC day, and a smooth
//           intake rate (GCRA, with a burst).
// Standards: RFC 3463 (4.7.1 on SMTP), RFC 6585 §4 (429 with Retry-After on HTTP).
//
// Counted per accepted message, after every other check. Time comes from
// the injected Clock; counts are in memory (a restart starts them again).

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.h"
#include "shaping/gcra.h"

namespace sluice::ingest {

struct QuotaLimits {
  std::uint64_t per_hour = 0;  // 0: none
  std::uint64_t per_day = 0;
  std::optional<shaping::Rate> rate;
  std::uint32_t burst = 1;
};

class TenantQuotas {
 public:
  TenantQuotas(const Clock& clock, std::map<std::string, QuotaLimits> limits)
      : clock_(clock), limits_(std::move(limits)) {}

  struct Refusal {
    std::string quota;  // "hour", "day", "rate"
    std::string limit;  // as configured: "1000/hour", "50/s"
    std::chrono::seconds retry_after{1};
    bool report = false;  // the first refusal of this quota in a while: worth an event
  };
  // Counts one message for `tenant` if its quotas allow it now.
  std::optional<Refusal> Take(const std::string& tenant);
  bool empty() const { return limits_.empty(); }

 private:
  struct State {
    std::int64_t hour = -1;
    std::int64_t day = -1;
    std::uint64_t in_hour = 0;
    std::uint64_t in_day = 0;
    std::optional<shaping::Gcra> gcra;
    Clock::Steady::time_point reported{};
  };
  const Clock& clock_;
  std::map<std::string, QuotaLimits> limits_;
  std::mutex mu_;
  std::map<std::string, State> state_;
};

}  // namespace sluice::ingest
