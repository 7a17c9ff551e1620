// Retry schedule (RFC 5321 §4.5.4.1) with a fixed RNG; scheduler fairness.
#include <gtest/gtest.h>

#include "queue/retry.h"
#include "queue/scheduler.h"

namespace sluice::queue {
namespace {

using namespace std::chrono_literals;

TEST(Retry, ExponentialThenCapped) {
  RetryPolicy p{.first_retry = 60s, .backoff_factor = 2.0, .max_interval = 600s, .jitter = 0};
  std::mt19937 rng(1);
  EXPECT_EQ(RetryDelay(p, 1, rng), 60s);
  EXPECT_EQ(RetryDelay(p, 2, rng), 120s);
  EXPECT_EQ(RetryDelay(p, 3, rng), 240s);
  EXPECT_EQ(RetryDelay(p, 4, rng), 480s);
  EXPECT_EQ(RetryDelay(p, 5, rng), 600s);
  EXPECT_EQ(RetryDelay(p, 500, rng), 600s);
}

TEST(Retry, JitterStaysWithinBounds) {
  RetryPolicy p{.first_retry = 100s, .backoff_factor = 1.0, .max_interval = 1000s, .jitter = 0.1};
  std::mt19937 rng(7);
  bool varied = false;
  for (int i = 0; i < 100; ++i) {
    auto d = RetryDelay(p, 1, rng);
    EXPECT_GE(d, 90s);
    EXPECT_LE(d, 110s);
    varied = varied || d != 100s;
  }
  EXPECT_TRUE(varied);
}

WorkItem Item(std::string domain, Clock::time_point due, bool deferred) {
  WorkItem w;
  w.id = SpoolId::Generate();
  w.domain = std::move(domain);
  w.due = due;
  w.deferred = deferred;
  return w;
}

TEST(Scheduler, OnlyDueItemsPop) {
  Scheduler s;
  auto t0 = Clock::time_point(1000s);
  s.Add(Item("a", t0 + 10s, true));
  EXPECT_FALSE(s.PopDue(t0).has_value());
  EXPECT_EQ(s.NextDue(), t0 + 10s);
  EXPECT_TRUE(s.PopDue(t0 + 10s).has_value());
  EXPECT_EQ(s.size(), 0u);
}

TEST(Scheduler, NewMailIsNotStarvedByDueBacklog) {
  Scheduler s;
  auto t0 = Clock::time_point(1000s);
  for (int i = 0; i < 100; ++i) {
    s.Add(Item("old", t0 - 1s, true));
  }
  s.Add(Item("new", t0, false));
  s.Add(Item("new", t0, false));
  int new_in_first_four = 0;
  for (int i = 0; i < 4; ++i) {
    auto w = s.PopDue(t0);
    ASSERT_TRUE(w);
    new_in_first_four += w->domain == "new";
  }
  EXPECT_EQ(new_in_first_four, 2);
}

TEST(Scheduler, FlushMakesDomainDue) {
  Scheduler s;
  auto t0 = Clock::time_point(1000s);
  s.Add(Item("a", t0 + 1h, true));
  s.Add(Item("b", t0 + 1h, true));
  EXPECT_EQ(s.Flush("a", t0), 1u);
  auto w = s.PopDue(t0);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->domain, "a");
  EXPECT_FALSE(s.PopDue(t0).has_value());
}

}  // namespace
}  // namespace sluice::queue
