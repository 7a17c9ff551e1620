#include "shaping/reputation.h"

#include <gtest/gtest.h>

namespace sluice::shaping {
namespace {

using namespace std::chrono_literals;
using TimePoint = ReputationTracker::TimePoint;
const TimePoint kT0 = TimePoint(1'800'000'000s);

ReputationOptions Opts() {
  ReputationOptions o;
  o.window = 24h;
  o.min_deliveries = 1000;
  o.complaint_rate = 0.003;
  o.bounce_rate = 0.05;
  return o;
}

TEST(Reputation, ComplaintsAtThresholdOverEnoughDeliveriesCrossOnce) {
  ReputationTracker t(Opts());
  for (int i = 0; i < 1000; ++i) {
    t.Delivered("campaign acme/spring", kT0 + std::chrono::seconds(i));
  }
  EXPECT_FALSE(t.Complained("campaign acme/spring", kT0 + 1h));
  EXPECT_FALSE(t.Complained("campaign acme/spring", kT0 + 1h));
  auto c = t.Complained("campaign acme/spring", kT0 + 1h);  // 3 / 1000 = 0.3%
  ASSERT_TRUE(c);
  EXPECT_EQ(c->metric, ReputationMetric::kComplaints);
  EXPECT_EQ(c->count, 3u);
  EXPECT_EQ(c->deliveries, 1000u);
  EXPECT_DOUBLE_EQ(c->rate, 0.003);
  // Said once a window, not at every complaint after.
  EXPECT_FALSE(t.Complained("campaign acme/spring", kT0 + 2h));
  // Other keys are their own.
  EXPECT_FALSE(t.Complained("campaign acme/autumn", kT0 + 2h));
}

TEST(Reputation, NoVerdictOnTooFewDeliveries) {
  ReputationTracker t(Opts());
  for (int i = 0; i < 999; ++i) {
    t.Delivered("tenant acme", kT0);
  }
  for (int i = 0; i < 50; ++i) {
    EXPECT_FALSE(t.Complained("tenant acme", kT0 + 1min));
  }
  t.Delivered("tenant acme", kT0 + 2min);
  EXPECT_TRUE(t.Complained("tenant acme", kT0 + 2min));
}

TEST(Reputation, OldCountsSlideOutOfTheWindow) {
  ReputationTracker t(Opts());
  for (int i = 0; i < 1000; ++i) {
    t.Delivered("source 192.0.2.1", kT0);
  }
  EXPECT_FALSE(t.Complained("source 192.0.2.1", kT0 + 1h));
  EXPECT_FALSE(t.Complained("source 192.0.2.1", kT0 + 1h));
  EXPECT_EQ(t.Counts("source 192.0.2.1", kT0 + 2h)[1], 2u);
  // A day and a slice (half an hour) later, the deliveries no longer count;
  // the complaints, an hour after them, still do.
  const auto later = kT0 + 24h + 30min;
  EXPECT_EQ(t.Counts("source 192.0.2.1", later)[0], 0u);
  EXPECT_EQ(t.Counts("source 192.0.2.1", later)[1], 2u);
  EXPECT_FALSE(t.Complained("source 192.0.2.1", later));  // too few deliveries now
}

TEST(Reputation, BouncesHaveTheirOwnThresholdAndCanCrossAgainNextWindow) {
  ReputationTracker t(Opts());
  for (int i = 0; i < 1000; ++i) {
    t.Delivered("tenant acme", kT0);
  }
  std::optional<ReputationCrossing> c;
  int n = 0;
  while (!c && n < 100) {
    c = t.Bounced("tenant acme", kT0 + 1min);
    ++n;
  }
  ASSERT_TRUE(c);
  EXPECT_EQ(n, 50);  // 50 / 1000 = 5%
  EXPECT_EQ(c->metric, ReputationMetric::kBounces);
  // A window later, with the rate still high, it is said again.
  for (int i = 0; i < 1000; ++i) {
    t.Delivered("tenant acme", kT0 + 25h);
  }
  for (int i = 0; i < 49; ++i) {
    EXPECT_FALSE(t.Bounced("tenant acme", kT0 + 25h));
  }
  EXPECT_TRUE(t.Bounced("tenant acme", kT0 + 25h));
}

TEST(Reputation, AZeroThresholdIsNotWatched) {
  ReputationOptions o = Opts();
  o.complaint_rate = 0;
  o.min_deliveries = 1;
  ReputationTracker t(o);
  t.Delivered("tenant acme", kT0);
  EXPECT_FALSE(t.Complained("tenant acme", kT0));
}

}  // namespace
}  // namespace sluice::shaping
