#pragma once
// Security: none (operator settings only).
// Standards: RFC 5321 §4.5.4.1 (retry strategy: at least 30 minutes between
//            attempts is the RFC's advice; give-up time at least 4-5 days).
//
// Exponential back-off: the n-th retry waits first_retry * factor^(n-1),
// capped at max_interval, spread by +/- jitter so deferred mail does not
// return in lock-step.

#include <chrono>
#include <cstdint>
#include <random>

namespace sluice::queue {

struct RetryPolicy {
  std::chrono::milliseconds first_retry = std::chrono::minutes(5);
  double backoff_factor = 2.0;
  std::chrono::milliseconds max_interval = std::chrono::hours(4);
  double jitter = 0.1;  // fraction of the delay, each way
  std::chrono::milliseconds max_age = std::chrono::hours(24 * 5);
};

// Delay before attempt number `attempts + 1`, after `attempts` failed ones (>= 1).
std::chrono::milliseconds RetryDelay(const RetryPolicy& p, std::uint32_t attempts,
                                     std::mt19937& rng);

}  // namespace sluice::queue
