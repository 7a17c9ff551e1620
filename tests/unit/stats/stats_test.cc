// Component test on a real RocksDB in a temporary directory.
#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "stats/counters.h"
#include "stats/query.h"
#include "stats/recent.h"
#include "stats/recorder.h"
#include "stats/store.h"

namespace sluice::stats {
namespace {

using namespace std::chrono_literals;
using TimePoint = Store::TimePoint;

class StatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-stats-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    // Yesterday 10:00 UTC: inside every retention.
    const auto now = std::chrono::system_clock::now();
    base_ = std::chrono::floor<std::chrono::days>(now) - 24h + 10h;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> Open(std::size_t max_domains = 500) {
    auto s = Store::Open({.path = dir_.string(),
                          .minute_retention = 48h,
                          .hour_retention = 90 * 24h,
                          .day_retention = 730 * 24h,
                          .max_domains = max_domains});
    EXPECT_TRUE(s.ok()) << s.error();
    return std::move(s).value();
  }

  static events::Outcome At(TimePoint t, events::OutcomeType type, std::string recipient,
                            std::string provider = "gmail", std::string source = "ip1") {
    events::Outcome o;
    o.type = type;
    o.timestamp = t;
    o.recipient = std::move(recipient);
    o.provider = std::move(provider);
    o.egress_source = std::move(source);
    o.tenant = "acme";
    o.campaign = "spring";
    return o;
  }

  static events::Engagement Hit(TimePoint t, events::EngagementType type, std::string id,
                                std::string machine = "") {
    events::Engagement e;
    e.type = type;
    e.id = std::move(id);
    e.recipient = "a@x.example";
    e.tenant = "acme";
    e.sent = t - 1h;
    e.timestamp = t;
    e.machine = std::move(machine);
    return e;
  }

  // The total of one metric in the answer's only series (0: no series).
  static std::uint64_t Total(const Answer& a, std::string_view metric, std::size_t series = 0) {
    const auto slot = SlotByName(metric);
    EXPECT_TRUE(slot) << metric;
    for (std::size_t m = 0; m < a.metrics.size(); ++m) {
      if (a.metrics[m] == *slot && series < a.series.size()) {
        return a.series[series].totals[m];
      }
    }
    return 0;
  }

  static std::vector<std::uint64_t> Values(const Answer& a, std::string_view metric,
                                           std::size_t series = 0) {
    const auto slot = SlotByName(metric);
    for (std::size_t m = 0; m < a.metrics.size(); ++m) {
      if (a.metrics[m] == *slot && series < a.series.size()) {
        return a.series[series].values[m];
      }
    }
    return {};
  }

  Answer Ask(Store& s, TimePoint from, TimePoint to, std::chrono::seconds step,
             std::vector<Dim> group_by = {}) {
    Query q;
    q.from = from;
    q.to = to;
    q.step = step;
    q.group_by = std::move(group_by);
    auto a = Aggregate(s, q);
    EXPECT_TRUE(a.ok()) << a.error();
    return std::move(a).value();
  }

  std::filesystem::path dir_;
  TimePoint base_;
};

TEST(StatsCounters, EncodedRowsAddUpAndBrokenOnesAreRefused) {
  Counters c{};
  c[kDelivered] = 3;
  c[kClassBase + 2] = 300;
  Counters sum{};
  ASSERT_TRUE(DecodeAdd(Encode(c), sum));
  ASSERT_TRUE(DecodeAdd(Encode(c), sum));
  EXPECT_EQ(sum[kDelivered], 6u);
  EXPECT_EQ(sum[kClassBase + 2], 600u);
  EXPECT_EQ(sum[kBounced], 0u);
  EXPECT_FALSE(DecodeAdd(std::string("\x81", 1), sum));      // a varint cut short
  EXPECT_FALSE(DecodeAdd(std::string("\x7f\x01", 2), sum));  // no such slot
}

TEST(StatsCounters, MetricNamesAreStable) {
  EXPECT_EQ(SlotByName("received"), std::optional<std::uint16_t>(0));
  EXPECT_EQ(SlotByName("unique_human_clicks"), std::optional<std::uint16_t>(18));
  EXPECT_EQ(SlotByName("bounced.bad-mailbox"), std::optional<std::uint16_t>(kClassBase));
  EXPECT_EQ(ClassSlot("other"), SlotByName("bounced.other"));
  EXPECT_FALSE(SlotByName("nope"));
}

TEST_F(StatsTest, OutcomesCountPerMinuteHourAndDayByGroup) {
  auto s = Open();
  Recorder r(*s);
  r.OnOutcome(At(base_ + 10s, events::OutcomeType::kDelivery, "a@x.example"));
  r.OnOutcome(At(base_ + 70s, events::OutcomeType::kDelivery, "b@x.example"));
  r.OnOutcome(At(base_ + 80s, events::OutcomeType::kTransientFailure, "c@y.example", "yahoo"));
  auto bounce = At(base_ + 3700s, events::OutcomeType::kBounce, "d@y.example", "yahoo");
  bounce.bounce_class = "bad-mailbox";
  bounce.hard = true;
  r.OnOutcome(bounce);
  auto unknown = At(base_ + 3710s, events::OutcomeType::kBounce, "e@y.example", "yahoo");
  unknown.bounce_class = "";
  r.OnOutcome(unknown);

  const auto minutes = Ask(*s, base_, base_ + 2h, 60s);
  ASSERT_EQ(minutes.series.size(), 1u);
  EXPECT_EQ(minutes.resolution, Resolution::kMinute);
  auto delivered = Values(minutes, "delivered");
  ASSERT_EQ(delivered.size(), 120u);
  EXPECT_EQ(delivered[0], 1u);
  EXPECT_EQ(delivered[1], 1u);
  EXPECT_EQ(Values(minutes, "deferred")[1], 1u);
  EXPECT_EQ(Values(minutes, "bounced")[61], 2u);
  EXPECT_EQ(Total(minutes, "bounced.bad-mailbox"), 1u);
  EXPECT_EQ(Total(minutes, "bounced.other"), 1u);
  EXPECT_EQ(Total(minutes, "bounced_hard"), 1u);

  const auto hours = Ask(*s, base_, base_ + 2h, 3600s, {Dim::kProvider});
  EXPECT_EQ(hours.resolution, Resolution::kHour);
  ASSERT_EQ(hours.series.size(), 2u);
  // Biggest group first: yahoo has three, gmail two.
  EXPECT_EQ(hours.series[0].group[static_cast<std::size_t>(Dim::kProvider)], "yahoo");
  EXPECT_EQ(Values(hours, "bounced", 0), (std::vector<std::uint64_t>{0, 2}));
  EXPECT_EQ(Values(hours, "deferred", 0), (std::vector<std::uint64_t>{1, 0}));
  EXPECT_EQ(Values(hours, "delivered", 1), (std::vector<std::uint64_t>{2, 0}));

  const auto day = Ask(*s, base_, base_ + 1h, 86400s, {Dim::kDomain});
  EXPECT_EQ(day.resolution, Resolution::kDay);
  ASSERT_EQ(day.series.size(), 2u);
  EXPECT_EQ(day.from, std::chrono::floor<std::chrono::days>(base_));
  EXPECT_EQ(Total(day, "delivered", 1) + Total(day, "delivered", 0), 2u);
}

TEST_F(StatsTest, FiltersKeepOnlyTheirRowsAndStepsSumSeveralBuckets) {
  auto s = Open();
  Recorder r(*s);
  r.OnOutcome(At(base_ + 10s, events::OutcomeType::kDelivery, "a@x.example", "gmail", "ip1"));
  r.OnOutcome(At(base_ + 130s, events::OutcomeType::kDelivery, "a@x.example", "gmail", "ip2"));
  r.OnOutcome(At(base_ + 400s, events::OutcomeType::kDelivery, "a@x.example", "gmail", "ip2"));
  Query q;
  q.from = base_;
  q.to = base_ + 10min;
  q.step = 300s;
  q.filters[static_cast<std::size_t>(Dim::kSource)] = "ip2";
  q.metrics = {kDelivered};
  auto a = Aggregate(*s, q);
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_EQ(a->series.size(), 1u);
  EXPECT_EQ(a->series[0].values[0], (std::vector<std::uint64_t>{1, 1}));
  q.filters[static_cast<std::size_t>(Dim::kSource)] = "ip9";
  a = Aggregate(*s, q);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->series.empty());
}

TEST_F(StatsTest, ATenantFilterReadsThatTenantsRowsOnly) {
  auto s = Open();
  Recorder r(*s);
  for (const char* tenant : {"acme", "acme2", "", "beta", "acme"}) {
    auto o = At(base_ + 30min, events::OutcomeType::kDelivery, "a@x.example");
    o.tenant = tenant;
    r.OnOutcome(o);
  }
  r.OnOutcome(At(base_ + 2h, events::OutcomeType::kDelivery, "a@x.example"));  // acme, later
  Query q;
  q.from = base_;
  q.to = base_ + 3h;
  q.step = 3600s;
  q.metrics = {kDelivered};
  for (const auto& [tenant, want] : std::vector<std::pair<std::string, std::vector<std::uint64_t>>>{
           {"acme", {2, 0, 1}}, {"acme2", {1, 0, 0}}, {"", {1, 0, 0}}, {"zed", {}}}) {
    q.filters[static_cast<std::size_t>(Dim::kTenant)] = tenant;
    auto a = Aggregate(*s, q);
    ASSERT_TRUE(a.ok());
    if (want.empty()) {
      EXPECT_TRUE(a->series.empty());
    } else {
      ASSERT_EQ(a->series.size(), 1u) << tenant;
      EXPECT_EQ(a->series[0].values[0], want) << tenant;
    }
  }
}

TEST_F(StatsTest, CountsAddUpAcrossRestarts) {
  {
    auto s = Open();
    Recorder r(*s);
    r.OnOutcome(At(base_, events::OutcomeType::kDelivery, "a@x.example"));
  }  // the writer writes what waits as it stops
  auto s = Open();
  Recorder r(*s);
  r.OnOutcome(At(base_, events::OutcomeType::kDelivery, "a@x.example"));
  EXPECT_EQ(Total(Ask(*s, base_, base_ + 1min, 60s), "delivered"), 2u);
}

TEST_F(StatsTest, ReceptionsCountEachRecipientByDomain) {
  auto s = Open();
  Recorder r(*s);
  events::Reception e;
  e.timestamp = base_;
  e.tenant = "acme";
  e.recipients = {"a@X.example", "b@x.example", "c@y.example"};
  r.OnReception(e);
  const auto a = Ask(*s, base_, base_ + 1min, 60s, {Dim::kDomain});
  ASSERT_EQ(a.series.size(), 2u);
  EXPECT_EQ(a.series[0].group[static_cast<std::size_t>(Dim::kDomain)], "x.example");
  EXPECT_EQ(Total(a, "received", 0), 2u);
  EXPECT_EQ(Total(a, "received", 1), 1u);
}

TEST_F(StatsTest, OwnMailIsNotCounted) {
  auto s = Open();
  Recorder r(*s);
  events::Reception dsn;
  dsn.id = "own1";
  dsn.listener = "dsn";
  dsn.timestamp = base_;
  dsn.recipients = {"sender@x.example"};
  r.OnReception(dsn);
  auto out = At(base_, events::OutcomeType::kDelivery, "sender@x.example");
  out.id = "own1";
  r.OnOutcome(out);
  out.id = "theirs";
  r.OnOutcome(out);
  const auto a = Ask(*s, base_, base_ + 1min, 60s);
  EXPECT_EQ(Total(a, "received"), 0u);
  EXPECT_EQ(Total(a, "delivered"), 1u);
}

TEST_F(StatsTest, UniqueOpensAndClicksAreTheFirstPerMessageAndRecipient) {
  {
    auto s = Open();
    Recorder r(*s);
    // An image proxy fetches first, then the person opens twice.
    r.OnEngagement(Hit(base_, events::EngagementType::kOpen, "m1", "image-proxy"));
    r.OnEngagement(Hit(base_ + 5s, events::EngagementType::kOpen, "m1"));
    r.OnEngagement(Hit(base_ + 6s, events::EngagementType::kOpen, "m1"));
    r.OnEngagement(Hit(base_ + 7s, events::EngagementType::kOpen, "m2"));
    r.OnEngagement(Hit(base_ + 8s, events::EngagementType::kClick, "m1"));
    const auto a = Ask(*s, base_, base_ + 1min, 60s);
    EXPECT_EQ(Total(a, "opens"), 4u);
    EXPECT_EQ(Total(a, "machine_opens"), 1u);
    EXPECT_EQ(Total(a, "unique_opens"), 2u);
    EXPECT_EQ(Total(a, "unique_human_opens"), 2u);
    EXPECT_EQ(Total(a, "clicks"), 1u);
    EXPECT_EQ(Total(a, "unique_clicks"), 1u);
  }
  // Remembered over a restart.
  auto s = Open();
  Recorder r(*s);
  r.OnEngagement(Hit(base_ + 2min, events::EngagementType::kOpen, "m1"));
  const auto a = Ask(*s, base_ + 2min, base_ + 3min, 60s);
  EXPECT_EQ(Total(a, "opens"), 1u);
  EXPECT_EQ(Total(a, "unique_opens"), 0u);
  EXPECT_EQ(Total(a, "unique_human_opens"), 0u);
}

TEST_F(StatsTest, FeedbackAndSuppressionsAreCounted) {
  auto s = Open();
  Recorder r(*s);
  events::Feedback f;
  f.timestamp = base_;
  f.recipient = "a@x.example";
  f.type = events::FeedbackType::kAsyncBounce;
  f.bounce_class = "quota";
  r.OnFeedback(f);
  f.type = events::FeedbackType::kComplaint;
  r.OnFeedback(f);
  f.type = events::FeedbackType::kUnsubscribe;
  r.OnFeedback(f);
  events::Suppressed sup;
  sup.timestamp = base_;
  sup.recipient = "b@x.example";
  r.OnSuppressed(sup);
  const auto a = Ask(*s, base_, base_ + 1min, 60s);
  EXPECT_EQ(Total(a, "bounced"), 1u);
  EXPECT_EQ(Total(a, "async_bounced"), 1u);
  EXPECT_EQ(Total(a, "bounced.quota"), 1u);
  EXPECT_EQ(Total(a, "bounced_hard"), 0u);
  EXPECT_EQ(Total(a, "complaints"), 1u);
  EXPECT_EQ(Total(a, "unsubscribes"), 1u);
  EXPECT_EQ(Total(a, "suppressed"), 1u);
}

TEST_F(StatsTest, DomainsPastTheBoundCountAsOther) {
  auto s = Open(2);
  Recorder r(*s);
  for (const char* rcpt : {"a@one.example", "a@two.example", "a@three.example", "b@one.example"}) {
    r.OnOutcome(At(base_, events::OutcomeType::kDelivery, rcpt));
  }
  const auto a = Ask(*s, base_, base_ + 1min, 60s, {Dim::kDomain});
  std::map<std::string, std::uint64_t> by;
  for (std::size_t i = 0; i < a.series.size(); ++i) {
    by[a.series[i].group[static_cast<std::size_t>(Dim::kDomain)]] = Total(a, "delivered", i);
  }
  EXPECT_EQ(by, (std::map<std::string, std::uint64_t>{
                    {"one.example", 2}, {"two.example", 1}, {"other", 1}}));
}

TEST_F(StatsTest, CampaignsPastTheBoundCountAsOther) {
  auto s = Store::Open({.path = dir_.string(), .max_campaigns = 1});
  ASSERT_TRUE(s.ok()) << s.error();
  Recorder r(**s);
  auto a = At(base_, events::OutcomeType::kDelivery, "a@x.example");
  r.OnOutcome(a);
  a.campaign = "autumn";
  r.OnOutcome(a);
  const auto got = Ask(**s, base_, base_ + 1min, 60s, {Dim::kCampaign});
  std::set<std::string> names;
  for (const auto& series : got.series) {
    names.insert(series.group[static_cast<std::size_t>(Dim::kCampaign)]);
  }
  EXPECT_EQ(names, (std::set<std::string>{"spring", "other"}));
}

TEST_F(StatsTest, CountsFromAClockSteppedBackAreKept) {
  auto s = Open(1);
  Recorder r(*s);
  // Newer buckets first, then one hours older than those whose domains are kept.
  for (int m = 0; m < 5; ++m) {
    r.OnOutcome(
        At(base_ + 5h + std::chrono::minutes(m), events::OutcomeType::kDelivery, "a@one.example"));
  }
  r.OnOutcome(At(base_, events::OutcomeType::kDelivery, "a@two.example"));
  r.OnOutcome(At(base_, events::OutcomeType::kDelivery, "a@three.example"));
  const auto a = Ask(*s, base_, base_ + 1min, 60s);
  EXPECT_EQ(Total(a, "delivered"), 2u);
}

TEST(StatsRecent, RepliesDifferingByRecipientCountAsOne) {
  EXPECT_EQ(NormalizeReply("550 5.1.1 <a.b@x.example>: no such user"),
            "550 5.1.1 <address>: no such user");
  EXPECT_EQ(NormalizeReply("550 user c@y.example unknown\r\n"), "550 user address unknown  ");
  // Cut at 200 octets, never inside a UTF-8 sequence.
  const std::string long_reply = std::string(199, 'x') + "\xC3\xA9tait";
  EXPECT_EQ(NormalizeReply(long_reply), std::string(199, 'x'));
  Recent recent(2);
  events::Outcome o;
  o.type = events::OutcomeType::kBounce;
  o.bounce_class = "bad-mailbox";
  o.code = 550;
  o.enhanced = "5.1.1";
  for (const char* rcpt : {"a@x.example", "b@x.example", "c@x.example"}) {
    o.recipient = rcpt;
    o.text = std::string("<") + rcpt + ">: unknown";
    o.tenant = rcpt[0] == 'c' ? "other" : "acme";
    recent.OnOutcome(o);
  }
  const auto top = recent.TopReplies(std::nullopt, 10);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].count, 2u);
  EXPECT_EQ(top[0].text, "550 5.1.1 <address>: unknown");
  EXPECT_EQ(recent.TopReplies(std::string("other"), 10).size(), 1u);
  // The latest two kept, newest first, and a tenant sees its own only.
  const auto all = recent.Records(RecentKind::kBounce, std::nullopt, 10);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_NE(all[0].find("c@x.example"), std::string::npos);
  const auto acme = recent.Records(RecentKind::kBounce, std::string("acme"), 10);
  ASSERT_EQ(acme.size(), 1u);
  EXPECT_NE(acme[0].find("b@x.example"), std::string::npos);
}

TEST_F(StatsTest, EachResolutionIsKeptForItsOwnTime) {
  auto s = Open();
  Recorder r(*s);
  r.OnOutcome(At(base_, events::OutcomeType::kDelivery, "a@x.example"));
  s->Flush();
  s->Prune(base_ + 49h);  // past the minutes' 48 hours, within the hours' 90 days
  EXPECT_TRUE(Ask(*s, base_, base_ + 1min, 60s).series.empty());
  EXPECT_EQ(Total(Ask(*s, base_, base_ + 1h, 3600s), "delivered"), 1u);
  s->Prune(base_ + 91 * 24h);
  EXPECT_TRUE(Ask(*s, base_, base_ + 1h, 3600s).series.empty());
  EXPECT_EQ(Total(Ask(*s, base_, base_ + 24h, 86400s), "delivered"), 1u);
}

TEST_F(StatsTest, BadQuestionsAreRefused) {
  auto s = Open();
  Query q;
  q.from = base_;
  q.to = base_ + 1h;
  q.step = 90s;
  EXPECT_FALSE(Aggregate(*s, q).ok());  // not whole minutes
  q.step = 60s;
  q.to = base_ + 24h * 30;
  EXPECT_FALSE(Aggregate(*s, q).ok());  // 43200 steps
  q.to = base_;
  EXPECT_FALSE(Aggregate(*s, q).ok());  // empty range
  q.to = base_ + 1h;
  q.step = std::chrono::seconds(4000LL * 86400);
  EXPECT_FALSE(Aggregate(*s, q).ok());  // past 3660 days
}

TEST_F(StatsTest, TheLimitKeepsTheBiggestGroups) {
  auto s = Open();
  Recorder r(*s);
  for (int i = 0; i < 3; ++i) {
    r.OnOutcome(At(base_, events::OutcomeType::kDelivery, "a@x.example", "p1"));
  }
  r.OnOutcome(At(base_, events::OutcomeType::kDelivery, "a@x.example", "p2"));
  r.OnOutcome(At(base_, events::OutcomeType::kDelivery, "a@x.example", "p2"));
  r.OnOutcome(At(base_, events::OutcomeType::kDelivery, "a@x.example", "p3"));
  Query q;
  q.from = base_;
  q.to = base_ + 1min;
  q.step = 60s;
  q.group_by = {Dim::kProvider};
  q.limit = 2;
  auto a = Aggregate(*s, q);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->series.size(), 2u);
  EXPECT_EQ(a->groups_omitted, 1u);
  EXPECT_EQ(a->series[0].group[static_cast<std::size_t>(Dim::kProvider)], "p1");
  EXPECT_EQ(a->series[1].group[static_cast<std::size_t>(Dim::kProvider)], "p2");
}

}  // namespace
}  // namespace sluice::stats
