#include "queue/retry.h"

#include <algorithm>
#include <cmath>

namespace sluice::queue {

std::chrono::milliseconds RetryDelay(const RetryPolicy& p, std::uint32_t attempts,
                                     std::mt19937& rng) {
  double base = static_cast<double>(p.first_retry.count());
  double n = attempts == 0 ? 0.0 : static_cast<double>(attempts - 1);
  double delay = base * std::pow(std::max(1.0, p.backoff_factor), std::min(n, 64.0));
  delay = std::min(delay, static_cast<double>(p.max_interval.count()));
  if (p.jitter > 0) {
    std::uniform_real_distribution<double> d(-p.jitter, p.jitter);
    delay *= 1.0 + d(rng);
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::max(delay, 0.0)));
}

}  // namespace sluice::queue
