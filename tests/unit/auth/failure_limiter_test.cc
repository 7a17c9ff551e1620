#include "auth/failure_limiter.h"

#include <gtest/gtest.h>

namespace sluice::auth {
namespace {

using namespace std::chrono_literals;
using Clock = FailureLimiter::Clock;

TEST(FailureLimiter, LocksAfterMaxFailuresInWindow) {
  FailureLimiter l({.max_failures = 3, .window = 60s, .lockout = 300s});
  auto t0 = Clock::time_point(1000s);
  EXPECT_FALSE(l.RecordFailure("a", t0));
  EXPECT_FALSE(l.RecordFailure("a", t0 + 1s));
  EXPECT_FALSE(l.IsLocked("a", t0 + 2s));
  EXPECT_TRUE(l.RecordFailure("a", t0 + 2s));
  EXPECT_TRUE(l.IsLocked("a", t0 + 3s));
  EXPECT_FALSE(l.IsLocked("b", t0 + 3s));
  EXPECT_TRUE(l.IsLocked("a", t0 + 301s));
  EXPECT_FALSE(l.IsLocked("a", t0 + 303s));
}

TEST(FailureLimiter, WindowExpires) {
  FailureLimiter l({.max_failures = 2, .window = 10s, .lockout = 60s});
  auto t0 = Clock::time_point(1000s);
  EXPECT_FALSE(l.RecordFailure("a", t0));
  EXPECT_FALSE(l.RecordFailure("a", t0 + 11s));  // first failure aged out
  EXPECT_TRUE(l.RecordFailure("a", t0 + 12s));
}

TEST(FailureLimiter, SuccessClearsCount) {
  FailureLimiter l({.max_failures = 2, .window = 10s, .lockout = 60s});
  auto t0 = Clock::time_point(1000s);
  EXPECT_FALSE(l.RecordFailure("a", t0));
  l.RecordSuccess("a");
  EXPECT_FALSE(l.RecordFailure("a", t0 + 1s));
}

}  // namespace
}  // namespace sluice::auth
