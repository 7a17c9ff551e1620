#pragma once
// IP warm-up: a new egress address earns volume day by day. Each source with a
// schedule may send, per provider (the shaping provider its mail goes to, or
// "other"), at most the day's cap; the day's count starts again each day.
// Mail over the cap goes to another source of the pool that has room, or
// waits for the next day.
//
// Days are counted from the schedule's start (day 1), in `day_length` steps
// (24 hours; shorter only to rehearse a schedule). Counts survive restarts
// through Save()/Load().

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sluice::shaping {

struct WarmupSchedule {
  std::chrono::system_clock::time_point start;  // the beginning of day 1
  // Either an explicit plan (day N's cap is plan[N-1]; past its end, no cap) ...
  std::vector<std::uint64_t> plan;
  // ... or a ramp: `initial` on day 1, times `growth` each day, up to `max`.
  std::uint64_t initial = 50;
  double growth = 2.0;
  std::uint64_t max = 0;  // 0: the ramp ends the warm-up when it passes nothing
};

class Warmup {
 public:
  explicit Warmup(std::chrono::milliseconds day_length = std::chrono::hours(24))
      : day_length_(day_length) {}

  void SetSchedule(const std::string& source, WarmupSchedule s);
  bool HasSchedule(const std::string& source) const { return schedules_.count(source) != 0; }

  // Day number of a source at `now` (1 on the start day; 0 before it).
  std::int64_t Day(const std::string& source, std::chrono::system_clock::time_point now) const;
  // The cap for a source on its day; nullopt: no cap (no schedule, or warmed up).
  std::optional<std::uint64_t> Cap(const std::string& source,
                                   std::chrono::system_clock::time_point now) const;
  // Takes one message of the day's allowance; false if the cap is reached.
  bool TryTake(const std::string& source, const std::string& provider,
               std::chrono::system_clock::time_point now);
  // Gives back one message taken today that the receiver did not accept (a
  // deferral, a failed connection): the allowance counts accepted mail.
  void GiveBack(const std::string& source, const std::string& provider,
                std::chrono::system_clock::time_point now);
  std::uint64_t Count(const std::string& source, const std::string& provider,
                      std::chrono::system_clock::time_point now) const;
  // When the source's next day begins.
  std::chrono::system_clock::time_point NextDay(const std::string& source,
                                                std::chrono::system_clock::time_point now) const;

  struct SourceStatus {
    std::string source;
    std::int64_t day = 0;
    std::optional<std::uint64_t> cap;
    std::map<std::string, std::uint64_t> counts;  // provider -> today's count
  };
  std::vector<SourceStatus> Status(std::chrono::system_clock::time_point now) const;

  // The counts as text ("source day provider count" lines; names have no
  // spaces), and back.
  std::string Save() const;
  bool Load(const std::string& text);

 private:
  struct Counts {
    std::int64_t day = 0;
    std::map<std::string, std::uint64_t> by_provider;
  };
  std::chrono::milliseconds day_length_;
  std::map<std::string, WarmupSchedule> schedules_;
  std::map<std::string, Counts> counts_;
};

}  // namespace sluice::shaping
