#pragma once
// Smooth rate limits: the generic cell rate algorithm (GCRA, ITU-T I.371), as
// a reservation. Each request is given the earliest time it conforms, one
// emission interval after the previous one, so "120/min" means one message
// every 500 ms, never 120 at the top of a minute. `burst` allows that many
// requests back to back after an idle spell.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::shaping {

using Clock = std::chrono::steady_clock;

// "300/min", "10/s", "5000/h", "20000/day" (also "/sec", "/hour", "/minute", "/d").
struct Rate {
  double per_second = 0;
  std::string text;  // as written, for explanations
  bool operator==(const Rate& o) const { return per_second == o.per_second; }
};
std::optional<Rate> ParseRate(std::string_view text);

class Gcra {
 public:
  explicit Gcra(Rate rate, std::uint32_t burst = 1);

  // Reserves the next slot; returns when it may be used (`now` if at once).
  Clock::time_point Reserve(Clock::time_point now);
  // When a request would conform, without reserving.
  Clock::time_point NextFree(Clock::time_point now) const;
  const Rate& rate() const { return rate_; }
  Clock::duration interval() const { return interval_; }

 private:
  Rate rate_;
  Clock::duration interval_;   // T: 1 / rate
  Clock::duration tolerance_;  // tau: (burst - 1) * T
  Clock::time_point tat_{};    // theoretical arrival time of the next request
};

}  // namespace sluice::shaping
