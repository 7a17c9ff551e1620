#include "app/admin_output.h"

#include <gtest/gtest.h>

namespace sluice::app {
namespace {

TEST(AdminOutput, SummaryIsATableWithATotal) {
  auto r = RenderAdminReply(
      {"queue", "summary"},
      R"({"queues":[{"queue":"example.com","messages":3,"oldest":"2026-12-06T05:00:00Z",)"
      R"("next_due":"2026-12-06T05:05:00Z","suspended":false},)"
      R"({"queue":"spring:acme@example.org","messages":12,"oldest":"2026-12-06T04:00:00Z",)"
      R"("next_due":"2026-12-06T06:00:00Z","suspended":true}],)"
      R"("sites":[{"site":"mx1.example.com","ready":0,"connections":2,"suspended_until":null}],)"
      R"("operator_suspensions":[],"suspensions":[]})");
  EXPECT_TRUE(r.error.empty());
  EXPECT_EQ(r.out,
            "QUEUE                    MESSAGES  OLDEST                NEXT DUE              "
            "SUSPENDED\n"
            "example.com                     3  2026-12-06T05:00:00Z  2026-12-06T05:05:00Z  no\n"
            "spring:acme@example.org        12  2026-12-06T04:00:00Z  2026-12-06T06:00:00Z  yes\n"
            "-- 15 messages in 2 queues\n"
            "\n"
            "SITE             READY  CONNECTIONS  SUSPENDED UNTIL\n"
            "mx1.example.com      0            2  -\n");
}

TEST(AdminOutput, EmptySummary) {
  auto r =
      RenderAdminReply({"queue", "summary"},
                       R"({"queues":[],"sites":[],"operator_suspensions":[],"suspensions":[]})");
  EXPECT_EQ(r.out, "No mail queued.\n");
}

TEST(AdminOutput, ErrorsAreReportedApart) {
  auto r = RenderAdminReply({"queue", "suspend", "x", "soon"},
                            R"j({"error":"not a duration of up to a year: soon (e.g. 30m, 2h)"})j");
  EXPECT_EQ(r.error, "not a duration of up to a year: soon (e.g. 30m, 2h)");
  EXPECT_TRUE(r.out.empty());
}

TEST(AdminOutput, VerbsReadAsSentences) {
  EXPECT_EQ(RenderAdminReply({"queue", "suspend", "acme@*", "2h"},
                             R"({"suspended":"acme@*","for":"2h","held":4})")
                .out,
            "suspended acme@* for 2h: 4 messages held\n");
  EXPECT_EQ(
      RenderAdminReply({"queue", "resume", "acme@*"}, R"({"resumed":"acme@*","released":4})").out,
      "resumed acme@*: 4 messages released\n");
  EXPECT_EQ(
      RenderAdminReply({"warmup", "status"}, R"({"sources":[{"source":"mkt1","day":3,"cap":200,)"
                                             R"("today":{"gmail":12,"yahoo":3}}]})")
          .out,
      "SOURCE  DAY  CAP  SENT TODAY\n"
      "mkt1      3  200  gmail=12 yahoo=3\n");
}

}  // namespace
}  // namespace sluice::app
