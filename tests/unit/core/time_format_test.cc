// RFC 5322 §3.3 date-time; RFC 3339 timestamps.
#include "core/time_format.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(TimeFormat, Rfc5322) {
  auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1795618800));
  EXPECT_EQ(Rfc5322Date(t), "Wed, 25 Nov 2026 15:00:00 +0000");
}

TEST(TimeFormat, Rfc3339Micros) {
  auto t = std::chrono::system_clock::time_point(std::chrono::microseconds(1795618800123456));
  EXPECT_EQ(Rfc3339Micros(t), "2026-11-25T15:00:00.123456Z");
}

TEST(TimeFormat, ParseRfc3339) {
  using std::chrono::system_clock;
  auto day = ParseRfc3339("2026-11-25");
  ASSERT_TRUE(day);
  EXPECT_EQ(Rfc3339Micros(*day), "2026-11-25T00:00:00.000000Z");
  EXPECT_EQ(Rfc3339Micros(*ParseRfc3339("2026-11-25T15:00:00Z")), "2026-11-25T15:00:00.000000Z");
  EXPECT_EQ(Rfc3339Micros(*ParseRfc3339("2026-11-25T15:00:00.5+01:30")),
            "2026-11-25T13:30:00.500000Z");
  // RFC 3339 §5.6 time-secfrac: kept to the microsecond, the rest dropped.
  EXPECT_EQ(Rfc3339Micros(*ParseRfc3339("2026-11-25T15:00:00.1234567Z")),
            "2026-11-25T15:00:00.123456Z");
  EXPECT_FALSE(ParseRfc3339("2026-11-25T15:00:00.Z"));
  EXPECT_FALSE(ParseRfc3339("2026-13-01"));
  EXPECT_FALSE(ParseRfc3339("2026-02-31"));
  // Beyond what a 64-bit count of nanoseconds holds (found by fuzzing the
  // suppression import): refused, not wrapped.
  EXPECT_FALSE(ParseRfc3339("1013-01-01"));
  EXPECT_FALSE(ParseRfc3339("9999-12-31T23:59:59Z"));
  EXPECT_TRUE(ParseRfc3339("1970-01-01T00:00:00Z"));
  EXPECT_TRUE(ParseRfc3339("2028-02-29"));
  EXPECT_FALSE(ParseRfc3339("2026-11-25T15:00"));
  EXPECT_FALSE(ParseRfc3339("yesterday"));
}

}  // namespace
}  // namespace sluice
