#include "shaping/reputation.h"

#include <algorithm>

namespace sluice::shaping {

const char* ToString(ReputationMetric m) {
  return m == ReputationMetric::kComplaints ? "complaint rate" : "bounce rate";
}

std::int64_t ReputationTracker::SliceOf(TimePoint t) const {
  const auto slice = std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(opts_.window).count() /
             static_cast<std::int64_t>(kBuckets));
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() /
         slice;
}

std::array<std::uint64_t, 3> ReputationTracker::Sum(const Key& k, TimePoint now) const {
  const std::int64_t current = SliceOf(now);
  std::array<std::uint64_t, 3> total{};
  for (const auto& b : k.buckets) {
    // The window: this slice and the kBuckets - 1 before it.
    if (b.slice >= 0 && b.slice > current - static_cast<std::int64_t>(kBuckets) &&
        b.slice <= current) {
      for (std::size_t i = 0; i < 3; ++i) {
        total[i] += b.n[i];
      }
    }
  }
  return total;
}

void ReputationTracker::ForgetIdle(TimePoint now) {
  if (now - swept_ < opts_.window) {
    return;
  }
  swept_ = now;
  std::erase_if(keys_, [&](const auto& kv) { return now - kv.second.last > opts_.window; });
}

ReputationTracker::Key& ReputationTracker::Touch(const std::string& key, TimePoint now,
                                                 std::size_t what) {
  ForgetIdle(now);
  Key& k = keys_[key];
  k.last = now;
  const std::int64_t slice = SliceOf(now);
  Bucket& b = k.buckets[static_cast<std::size_t>(slice) % kBuckets];
  if (b.slice != slice) {
    b.slice = slice;
    b.n = {};
  }
  ++b.n[what];
  return k;
}

std::optional<ReputationCrossing> ReputationTracker::Check(const std::string& key, Key& k,
                                                           ReputationMetric m, TimePoint now) {
  const std::size_t mi = m == ReputationMetric::kComplaints ? 0 : 1;
  const double threshold = mi == 0 ? opts_.complaint_rate : opts_.bounce_rate;
  if (threshold <= 0 || now < k.quiet_until[mi]) {
    return std::nullopt;
  }
  const auto n = Sum(k, now);
  if (n[0] < opts_.min_deliveries || n[0] == 0) {
    return std::nullopt;
  }
  const double rate = static_cast<double>(n[1 + mi]) / static_cast<double>(n[0]);
  if (rate < threshold) {
    return std::nullopt;
  }
  k.quiet_until[mi] = now + opts_.window;
  return ReputationCrossing{key, m, rate, threshold, n[1 + mi], n[0]};
}

void ReputationTracker::Delivered(const std::string& key, TimePoint now) {
  Touch(key, now, 0);
}

std::optional<ReputationCrossing> ReputationTracker::Complained(const std::string& key,
                                                                TimePoint now) {
  return Check(key, Touch(key, now, 1), ReputationMetric::kComplaints, now);
}

std::optional<ReputationCrossing> ReputationTracker::Bounced(const std::string& key,
                                                             TimePoint now) {
  return Check(key, Touch(key, now, 2), ReputationMetric::kBounces, now);
}

std::array<std::uint64_t, 3> ReputationTracker::Counts(const std::string& key, TimePoint now) {
  auto it = keys_.find(key);
  return it == keys_.end() ? std::array<std::uint64_t, 3>{} : Sum(it->second, now);
}

}  // namespace sluice::shaping
