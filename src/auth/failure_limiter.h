#pragma once
// Security: slows password guessing. After `max_failures` failed AUTH attempts
// from one client address within `window`, that address is locked out for `lockout`.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace sluice::auth {

struct FailureLimiterOptions {
  std::uint32_t max_failures = 5;
  std::chrono::milliseconds window = std::chrono::minutes(5);
  std::chrono::milliseconds lockout = std::chrono::minutes(5);
};

class FailureLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit FailureLimiter(FailureLimiterOptions opts) : opts_(opts) {}

  bool IsLocked(const std::string& client, Clock::time_point now);
  // Records a failure; returns true if it locks the client out.
  bool RecordFailure(const std::string& client, Clock::time_point now);
  void RecordSuccess(const std::string& client);

 private:
  struct Entry {
    std::uint32_t failures = 0;
    Clock::time_point window_start;
    Clock::time_point locked_until;
  };
  void Prune(Clock::time_point now);

  FailureLimiterOptions opts_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  Clock::time_point last_prune_;
};

}  // namespace sluice::auth
