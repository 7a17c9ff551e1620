// The scheduled checks' memory: what is news, what is kept through a DNS
// outage, and the runs a monitor makes (injected clock, scripted results).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "core/clock.h"
#include "monitor/health_book.h"
#include "monitor/health_monitor.h"

namespace sluice::monitor {
namespace {

namespace asio = boost::asio;
using doctor::Check;
using doctor::Status;
const TimePoint kT0 = TimePoint(std::chrono::hours(24 * 20000));

Check C(const std::string& name, Status s, bool inconclusive = false) {
  return Check{name, s, "detail " + name, s == Status::kPass ? "" : "fix " + name, inconclusive};
}

std::map<std::string, CheckState> ByName(const HealthBook& b, const std::string& domain) {
  std::map<std::string, CheckState> out;
  for (const auto& d : b.Snapshot()) {
    if (d.domain == domain) {
      for (const auto& c : d.checks) {
        out[c.check.name] = c;
      }
    }
  }
  return out;
}

TEST(HealthBook, FirstRunReportsOnlyWhatDoesNotPass) {
  HealthBook b;
  auto changes =
      b.Record("a.example",
               {C("mx", Status::kPass), C("spf", Status::kFail), C("dmarc", Status::kWarn)}, kT0);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].check, "spf");
  EXPECT_EQ(changes[0].previous, "");
  EXPECT_EQ(changes[0].status, "fail");
  EXPECT_EQ(changes[0].fix, "fix spf");
  EXPECT_EQ(changes[1].status, "warn");
}

TEST(HealthBook, ChangesAreReportedOnceAndSinceMoves) {
  HealthBook b;
  b.Record("a.example", {C("spf", Status::kPass)}, kT0);
  auto t1 = kT0 + std::chrono::hours(1);
  auto changes = b.Record("a.example", {C("spf", Status::kFail)}, t1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].previous, "pass");
  EXPECT_EQ(changes[0].status, "fail");
  EXPECT_EQ(changes[0].timestamp, t1);
  EXPECT_TRUE(b.Record("a.example", {C("spf", Status::kFail)}, t1 + std::chrono::hours(1)).empty());
  auto state = ByName(b, "a.example");
  EXPECT_EQ(state["spf"].since, t1);
  EXPECT_EQ(state["spf"].checked, t1 + std::chrono::hours(1));
  EXPECT_TRUE(b.Snapshot()[0].Failed());
}

TEST(HealthBook, InconclusiveRunKeepsTheLastResultAndWhatItCutShort) {
  HealthBook b;
  b.Record("a.example", {C("spf", Status::kPass), C("spf 192.0.2.1", Status::kPass)}, kT0);
  // The TXT lookup SERVFAILs: one inconclusive "spf", no per-address check.
  auto changes =
      b.Record("a.example", {C("spf", Status::kWarn, true)}, kT0 + std::chrono::hours(1));
  EXPECT_TRUE(changes.empty());
  auto state = ByName(b, "a.example");
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state["spf"].check.status, Status::kPass);
  EXPECT_TRUE(state["spf"].stale);
  EXPECT_EQ(state["spf 192.0.2.1"].check.status, Status::kPass);
  EXPECT_TRUE(state["spf 192.0.2.1"].stale);
  EXPECT_EQ(state["spf"].since, kT0);
  // Back: not news, no longer stale.
  EXPECT_TRUE(
      b.Record("a.example", {C("spf", Status::kPass), C("spf 192.0.2.1", Status::kPass)}, kT0)
          .empty());
  EXPECT_FALSE(ByName(b, "a.example")["spf"].stale);
}

TEST(HealthBook, AFirstInconclusiveResultIsNotNews) {
  HealthBook b;
  EXPECT_TRUE(b.Record("a.example", {C("spf", Status::kWarn, true)}, kT0).empty());
  // The first conclusive result is then a first sighting.
  auto changes = b.Record("a.example", {C("spf", Status::kFail)}, kT0);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].previous, "");
}

TEST(HealthBook, ChecksNoLongerMadeAreDropped) {
  HealthBook b;
  b.Record("a.example", {C("dkim s1", Status::kPass), C("dkim s2", Status::kFail)}, kT0);
  b.Record("a.example", {C("dkim s1", Status::kPass)}, kT0);
  EXPECT_EQ(ByName(b, "a.example").count("dkim s2"), 0u);
}

class Capture final : public events::Observer {
 public:
  void OnHealthChanged(const events::HealthChanged& e) override { seen.push_back(e); }
  std::vector<events::HealthChanged> seen;
};

TEST(HealthMonitor, EachRunChecksEveryDomainAtTheClocksTimeAndPublishesChanges) {
  asio::io_context ioc;
  ManualClock clock(kT0);
  events::Bus bus;
  Capture capture;
  bus.AddObserver(&capture);
  std::vector<std::pair<std::string, TimePoint>> asked;
  Status spf = Status::kPass;
  HealthMonitor m(
      ioc,
      [&](std::string domain, TimePoint now) -> asio::awaitable<std::vector<Check>> {
        asked.emplace_back(domain, now);
        co_return std::vector<Check>{C("spf", spf)};
      },
      {"a.example", "b.example"}, std::chrono::seconds(3600), bus, clock);
  auto run = [&] {
    auto f = asio::co_spawn(ioc, HealthMonitor::RunOnce(&m), asio::use_future);
    ioc.restart();
    ioc.run();
    f.get();
  };
  run();
  EXPECT_TRUE(capture.seen.empty());
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[1], std::make_pair(std::string("b.example"), kT0));
  clock.Advance(std::chrono::hours(1));
  spf = Status::kFail;
  run();
  ASSERT_EQ(capture.seen.size(), 2u);
  EXPECT_EQ(capture.seen[0].domain, "a.example");
  EXPECT_EQ(capture.seen[0].previous, "pass");
  EXPECT_EQ(capture.seen[0].timestamp, kT0 + std::chrono::hours(1));
  EXPECT_EQ(m.book().Snapshot().size(), 2u);
  EXPECT_NE(m.book().Json().find("\"status\":\"fail\""), std::string::npos);
}

}  // namespace
}  // namespace sluice::monitor
