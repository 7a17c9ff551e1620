#include "tlsrpt/ledger.h"

#include <gtest/gtest.h>

namespace sluice::tlsrpt {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using Time = std::chrono::system_clock::time_point;

// 2026-12-07T00:00:00Z
constexpr std::int64_t kDay0 = 1796601600;
Time At(std::int64_t s) {
  return Time(seconds(s));
}

const Policy kSts{"sts", {"version: STSv1", "mode: testing"}, {"mx.example"}};
const Policy kNone{};

TEST(TlsRptLedger, DayStartIsUtcMidnight) {
  EXPECT_EQ(DayStart(At(kDay0)), kDay0);
  EXPECT_EQ(DayStart(At(kDay0 + 86399)), kDay0);
  EXPECT_EQ(DayStart(At(kDay0 + 86400)), kDay0 + 86400);
}

// RFC 8460 §4.1: a report covers one UTC day; the period ends at midnight.
TEST(TlsRptLedger, CountsPerDomainAndPolicyAndRollsAtMidnight) {
  Ledger l;
  l.Success(At(kDay0 + 10), "a.example", kSts);
  l.Success(At(kDay0 + 20), "a.example", kSts);
  l.Failure(At(kDay0 + 30), "a.example", kSts,
            {"certificate-expired", "192.0.2.1", "mx.example", "198.51.100.1"});
  l.Failure(At(kDay0 + 40), "a.example", kSts,
            {"certificate-expired", "192.0.2.1", "mx.example", "198.51.100.1"});
  l.Success(At(kDay0 + 50), "b.example", kNone);
  ASSERT_TRUE(l.open());
  EXPECT_EQ(l.open()->start, kDay0);
  EXPECT_EQ(l.open()->end, kDay0 + 86400);
  const auto& a = l.open()->domains.at("a.example").policies.at(kSts);
  EXPECT_EQ(a.successes, 2U);
  EXPECT_EQ(a.failures, 2U);
  ASSERT_EQ(a.details.size(), 1U);
  EXPECT_EQ(a.details.begin()->second, 2U);
  EXPECT_TRUE(l.closed().empty());

  l.Roll(At(kDay0 + 86399));
  EXPECT_TRUE(l.closed().empty());
  // The first session of the next day closes the previous one.
  l.Success(At(kDay0 + 86400 + 5), "a.example", kSts);
  ASSERT_EQ(l.closed().size(), 1U);
  EXPECT_EQ(l.closed().front().end, kDay0 + 86400);
  EXPECT_EQ(l.closed().front().domains.size(), 2U);
  EXPECT_EQ(l.open()->start, kDay0 + 86400);
  EXPECT_EQ(l.open()->domains.at("a.example").policies.at(kSts).successes, 1U);
}

// An operator's "send now" ends the period early; the next starts there,
// so no session is reported twice.
TEST(TlsRptLedger, CutEndsThePeriodEarly) {
  Ledger l;
  l.Success(At(kDay0 + 100), "a.example", kNone);
  l.Cut(At(kDay0 + 3600));
  ASSERT_EQ(l.closed().size(), 1U);
  EXPECT_EQ(l.closed().front().start, kDay0);
  EXPECT_EQ(l.closed().front().end, kDay0 + 3600);
  EXPECT_FALSE(l.open());
  l.Success(At(kDay0 + 7200), "a.example", kNone);
  EXPECT_EQ(l.open()->start, kDay0 + 3600);
  EXPECT_EQ(l.open()->end, kDay0 + 86400);
  // Nothing counted: nothing to report.
  l.Cut(At(kDay0 + 7300));
  l.Cut(At(kDay0 + 7400));
  EXPECT_EQ(l.closed().size(), 2U);
}

TEST(TlsRptLedger, CapsDomainsPoliciesAndDetails) {
  Ledger l({.domains = 2, .policies = 1, .details = 2});
  l.Success(At(kDay0), "a.example", kNone);
  l.Success(At(kDay0), "b.example", kNone);
  l.Success(At(kDay0), "c.example", kNone);  // a third domain
  l.Success(At(kDay0), "a.example", kSts);   // a second policy
  EXPECT_EQ(l.dropped(), 2U);
  for (int i = 0; i < 5; ++i) {
    l.Failure(At(kDay0), "a.example", kNone, {"validation-failure", "", "mx", std::to_string(i)});
  }
  const auto& c = l.open()->domains.at("a.example").policies.at(kNone);
  EXPECT_EQ(c.failures, 5U);  // every failure is in the summary
  EXPECT_EQ(c.details.size(), 2U);
}

TEST(TlsRptLedger, StateSurvivesARestart) {
  Ledger l;
  l.Success(At(kDay0 + 1), "a.example", kSts);
  l.Failure(At(kDay0 + 2), "a.example", kSts, {"starttls-not-supported", "", "mx", "192.0.2.9"});
  l.Cut(At(kDay0 + 10));
  l.closed().front().domains.at("a.example").delivered = {"mailto:r@a.example"};
  l.Success(At(kDay0 + 20), "b.example", kNone);
  EXPECT_TRUE(l.dirty());
  const std::string text = l.Serialize();
  EXPECT_FALSE(l.dirty());

  Ledger back;
  ASSERT_TRUE(back.Deserialize(text));
  EXPECT_EQ(back.Serialize(), text);
  ASSERT_EQ(back.closed().size(), 1U);
  const auto& a = back.closed().front().domains.at("a.example");
  EXPECT_EQ(a.delivered, std::vector<std::string>{"mailto:r@a.example"});
  EXPECT_EQ(a.policies.at(kSts).details.begin()->first.result_type, "starttls-not-supported");
  // The open period goes on where it was.
  back.Success(At(kDay0 + 30), "b.example", kNone);
  EXPECT_EQ(back.open()->domains.at("b.example").policies.at(kNone).successes, 2U);

  EXPECT_FALSE(back.Deserialize("{\"version\":1}"));
  EXPECT_FALSE(back.Deserialize("not json"));
  EXPECT_EQ(back.closed().size(), 1U);  // a bad file changes nothing
}

}  // namespace
}  // namespace sluice::tlsrpt
