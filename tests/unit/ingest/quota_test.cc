// Tenant quotas, with a clock moved by hand.
#include "ingest/quota.h"

#include <gtest/gtest.h>

namespace sluice::ingest {
namespace {

using namespace std::chrono_literals;

// 2026-12-06T10:00:00Z: an hour boundary.
const Clock::Wall::time_point kTen{std::chrono::seconds(1796551200)};

TEST(Quota, AnHourlyQuotaRefusesUntilTheNextHour) {
  ManualClock clock{kTen};
  QuotaLimits lim;
  lim.per_hour = 3;
  TenantQuotas q(clock, {{"acme", lim}});
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(q.Take("acme"));
  }
  clock.Advance(20min);
  auto no = q.Take("acme");
  ASSERT_TRUE(no);
  EXPECT_EQ(no->quota, "hour");
  EXPECT_EQ(no->limit, "3/hour");
  EXPECT_EQ(no->retry_after, 40min);
  EXPECT_TRUE(no->report);
  EXPECT_FALSE(q.Take("acme")->report);  // one event, not one per refusal
  EXPECT_FALSE(q.Take("other"));         // other tenants are not counted
  EXPECT_FALSE(q.Take(""));
  clock.Advance(40min);  // 11:00
  EXPECT_FALSE(q.Take("acme"));
}

TEST(Quota, ADailyQuotaCountsAcrossHours) {
  ManualClock clock{kTen};
  QuotaLimits lim;
  lim.per_hour = 10;
  lim.per_day = 4;
  TenantQuotas q(clock, {{"acme", lim}});
  EXPECT_FALSE(q.Take("acme"));
  EXPECT_FALSE(q.Take("acme"));
  clock.Advance(1h);
  EXPECT_FALSE(q.Take("acme"));
  EXPECT_FALSE(q.Take("acme"));
  auto no = q.Take("acme");
  ASSERT_TRUE(no);
  EXPECT_EQ(no->quota, "day");
  EXPECT_EQ(no->retry_after, 13h);  // until midnight UTC
  clock.Advance(13h);
  EXPECT_FALSE(q.Take("acme"));
}

TEST(Quota, AnIntakeRateAllowsItsBurstThenPaces) {
  ManualClock clock{kTen};
  QuotaLimits lim;
  lim.rate = shaping::ParseRate("2/s");
  lim.burst = 3;
  TenantQuotas q(clock, {{"acme", lim}});
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(q.Take("acme")) << i;
  }
  auto no = q.Take("acme");
  ASSERT_TRUE(no);
  EXPECT_EQ(no->quota, "rate");
  EXPECT_EQ(no->retry_after, 1s);
  clock.Advance(500ms);
  EXPECT_FALSE(q.Take("acme"));
  EXPECT_TRUE(q.Take("acme"));
}

}  // namespace
}  // namespace sluice::ingest
