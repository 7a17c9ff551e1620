#pragma once
// Time as a value passed in: every module that decides by time (retries,
// expiry, suspensions, rates, warm-up days) reads it from a Clock it is given,
// so tests drive it by hand. Wall time for what is stored or shown (due
// times, expiry, days); steady time for what only this process measures
// (back-offs, rate slots, timers).

#include <chrono>
#include <cstdint>

namespace sluice {

class Clock {
 public:
  using Wall = std::chrono::system_clock;
  using Steady = std::chrono::steady_clock;
  virtual ~Clock() = default;
  virtual Wall::time_point Now() const = 0;
  virtual Steady::time_point SteadyNow() const = 0;

  // A steady deadline as wall time, and back (for what is persisted or shown).
  Wall::time_point ToWall(Steady::time_point t) const {
    return Now() + std::chrono::duration_cast<Wall::duration>(t - SteadyNow());
  }
  Steady::time_point ToSteady(Wall::time_point t) const {
    return SteadyNow() + std::chrono::duration_cast<Steady::duration>(t - Now());
  }

  // The process's real clocks.
  static const Clock& System();
};

// A clock that moves only when told (tests, replays).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Wall::time_point start = Wall::time_point(std::chrono::hours(24 * 20000)),
                       Steady::time_point steady = Steady::time_point(std::chrono::hours(1)))
      : wall_(start), steady_(steady) {}
  Wall::time_point Now() const override { return wall_; }
  Steady::time_point SteadyNow() const override { return steady_; }
  void Advance(std::chrono::nanoseconds d) {
    wall_ += std::chrono::duration_cast<Wall::duration>(d);
    steady_ += d;
  }

 private:
  Wall::time_point wall_;
  Steady::time_point steady_;
};

// Microseconds since the epoch, as the spool and events store times.
inline std::int64_t ToMicros(Clock::Wall::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
inline Clock::Wall::time_point FromMicros(std::int64_t us) {
  return Clock::Wall::time_point(std::chrono::microseconds(us));
}

}  // namespace sluice
