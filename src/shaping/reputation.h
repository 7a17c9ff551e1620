#pragma once
// Security: counts what receivers said of our mail; a complaint or bounce an
//           outsider forged without a valid tag never reaches it (the
//           feedback intake only reports tagged ones to it).
// Standards: none (Gmail and Yahoo ask bulk senders to keep complaints
//            under 0.3%).
//
// Complaint and bounce rates per tenant, campaign and egress source over a
// sliding window, and the moment one crosses its threshold. Pure: time comes
// in with every call.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace sluice::shaping {

struct ReputationOptions {
  std::chrono::seconds window = std::chrono::hours(24);
  // No verdict on fewer deliveries than this in the window.
  std::uint64_t min_deliveries = 1000;
  double complaint_rate = 0.003;  // complaints / deliveries; 0: not watched
  double bounce_rate = 0.05;      // hard bounces / deliveries; 0: not watched
};

enum class ReputationMetric { kComplaints, kBounces };
const char* ToString(ReputationMetric m);

struct ReputationCrossing {
  std::string key;  // "tenant acme", "campaign acme/spring", "source 192.0.2.1"
  ReputationMetric metric = ReputationMetric::kComplaints;
  double rate = 0;
  double threshold = 0;
  std::uint64_t count = 0;
  std::uint64_t deliveries = 0;
};

class ReputationTracker {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  explicit ReputationTracker(ReputationOptions opts) : opts_(opts) {}

  void Delivered(const std::string& key, TimePoint now);
  // A crossing when this complaint or bounce takes the key's rate to its
  // threshold or over (with enough deliveries); at most once a window per
  // key and metric.
  std::optional<ReputationCrossing> Complained(const std::string& key, TimePoint now);
  std::optional<ReputationCrossing> Bounced(const std::string& key, TimePoint now);

  // The window's counts for a key: deliveries, complaints, bounces.
  std::array<std::uint64_t, 3> Counts(const std::string& key, TimePoint now);
  std::size_t keys() const { return keys_.size(); }

 private:
  static constexpr std::size_t kBuckets = 48;  // the window in 48 slices
  struct Bucket {
    std::int64_t slice = -1;  // which slice of time it counts
    std::array<std::uint64_t, 3> n{};
  };
  struct Key {
    std::array<Bucket, kBuckets> buckets;
    std::array<TimePoint, 2> quiet_until{};  // per metric: no crossing before then
    TimePoint last{};
  };
  Key& Touch(const std::string& key, TimePoint now, std::size_t what);
  std::optional<ReputationCrossing> Check(const std::string& key, Key& k, ReputationMetric m,
                                          TimePoint now);
  std::int64_t SliceOf(TimePoint t) const;
  std::array<std::uint64_t, 3> Sum(const Key& k, TimePoint now) const;
  void ForgetIdle(TimePoint now);

  ReputationOptions opts_;
  std::map<std::string, Key> keys_;
  TimePoint swept_{};
};

}  // namespace sluice::shaping
