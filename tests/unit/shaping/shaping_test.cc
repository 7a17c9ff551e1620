// GCRA with a fake clock; shaping rule matching and precedence; warm-up caps
// across simulated day changes.
#include <gtest/gtest.h>

#include "shaping/gcra.h"
#include "shaping/rules.h"
#include "shaping/warmup.h"

namespace sluice::shaping {
namespace {

using namespace std::chrono_literals;

TEST(Rate, Parses) {
  EXPECT_DOUBLE_EQ(ParseRate("120/min")->per_second, 2.0);
  EXPECT_DOUBLE_EQ(ParseRate("10/s")->per_second, 10.0);
  EXPECT_DOUBLE_EQ(ParseRate("3600/h")->per_second, 1.0);
  EXPECT_DOUBLE_EQ(ParseRate("86400/day")->per_second, 1.0);
  EXPECT_DOUBLE_EQ(ParseRate("0.5/s")->per_second, 0.5);
  EXPECT_FALSE(ParseRate("120"));
  EXPECT_FALSE(ParseRate("0/min"));
  EXPECT_FALSE(ParseRate("-1/min"));
  EXPECT_FALSE(ParseRate("10/fortnight"));
  EXPECT_FALSE(ParseRate("/min"));
}

TEST(Gcra, SpacesRequestsEvenly) {
  Gcra g(*ParseRate("120/min"));
  Clock::time_point t0{};
  t0 += 1h;
  // Ten requests at once get slots 500 ms apart: no burst at the start.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(g.Reserve(t0) - t0, i * 500ms);
  }
}

TEST(Gcra, IdleTimeIsNotSavedUp) {
  Gcra g(*ParseRate("2/s"));
  Clock::time_point t{};
  t += 1h;
  EXPECT_EQ(g.Reserve(t), t);
  // After a long pause the next request goes at once, but only one.
  t += 10s;
  EXPECT_EQ(g.Reserve(t), t);
  EXPECT_EQ(g.Reserve(t), t + 500ms);
  EXPECT_EQ(g.NextFree(t), t + 1000ms);  // not reserved
  EXPECT_EQ(g.Reserve(t + 2s), t + 2s);
}

TEST(Gcra, BurstAllowsThatManyBackToBack) {
  Gcra g(*ParseRate("1/s"), 3);
  Clock::time_point t{};
  t += 1h;
  EXPECT_EQ(g.Reserve(t), t);
  EXPECT_EQ(g.Reserve(t), t);
  EXPECT_EQ(g.Reserve(t), t);
  EXPECT_EQ(g.Reserve(t), t + 1s);
  EXPECT_EQ(g.Reserve(t), t + 2s);
}

TEST(Gcra, RateOverALongRun) {
  Gcra g(*ParseRate("300/min"));
  Clock::time_point t{};
  t += 1h;
  Clock::time_point last{};
  for (int i = 0; i < 3000; ++i) {
    last = g.Reserve(t);
  }
  // 3000 messages at 5/s: the last one goes 599.8 s after the first.
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(last - t).count(), 599800);
}

Rules Sample() {
  Rules r;
  r.defaults.settings.connection_limit = 20;
  r.defaults.settings.max_message_rate = ParseRate("1000/min");
  Provider google;
  google.name = "google";
  google.mx_suffixes = {".google.com", "googlemail.com"};
  google.block.settings.connection_limit = 5;
  google.block.settings.max_message_rate = ParseRate("300/min");
  google.block.by_source["127.0.0.61"].max_message_rate = ParseRate("50/min");
  r.providers.push_back(google);
  Provider catchall;
  catchall.name = "later";
  catchall.mx_suffixes = {".com"};
  catchall.block.settings.connection_limit = 1;
  r.providers.push_back(catchall);
  Block d;
  d.settings.connection_limit = 2;
  d.by_source["127.0.0.61"].tls = Tls::kRequired;
  r.domains["example.org"] = d;
  return r;
}

TEST(Rules, ProviderMatchesBySuffixOnLabelBoundary) {
  Rules r = Sample();
  EXPECT_EQ(MatchProvider(r, {"aspmx.l.google.com"})->name, "google");
  EXPECT_EQ(MatchProvider(r, {"alt1.gmail-smtp-in.l.google.com", "x.other.net"})->name, "google");
  EXPECT_EQ(MatchProvider(r, {"googlemail.com"})->name, "google");
  // "notgoogle.com" does not end in ".google.com": the next provider, in file order.
  EXPECT_EQ(MatchProvider(r, {"mx.notgoogle.com"})->name, "later");
  EXPECT_EQ(MatchProvider(r, {"mx.example.net"}), nullptr);
}

TEST(Rules, PrecedenceMostSpecificLast) {
  Rules r = Sample();
  Effective builtin;
  builtin.connection_limit = 10;
  builtin.max_deliveries_per_connection = 77;

  auto plain = Resolve(r, builtin, "other.net", {"mx.other.net"}, "");
  EXPECT_EQ(plain.connection_limit, 20u);
  EXPECT_EQ(plain.origin["connection_limit"], "default");
  EXPECT_EQ(plain.max_deliveries_per_connection, 77u);
  EXPECT_EQ(plain.origin["max_deliveries_per_connection"], "built-in ([delivery])");

  auto g = Resolve(r, builtin, "gmail.com", {"gmail-smtp-in.l.google.com"}, "127.0.0.62");
  EXPECT_EQ(g.connection_limit, 5u);
  EXPECT_EQ(g.max_message_rate->text, "300/min");
  EXPECT_EQ(g.origin["max_message_rate"], "provider google");
  auto gs = Resolve(r, builtin, "gmail.com", {"gmail-smtp-in.l.google.com"}, "127.0.0.61");
  EXPECT_EQ(gs.max_message_rate->text, "50/min");
  EXPECT_EQ(gs.origin["max_message_rate"], "provider google source 127.0.0.61");
  EXPECT_EQ(gs.connection_limit, 5u);

  // A domain block beats its provider; its source refinement beats both.
  auto d = Resolve(r, builtin, "example.org", {"aspmx.l.google.com"}, "127.0.0.61");
  EXPECT_EQ(d.connection_limit, 2u);
  EXPECT_EQ(d.origin["connection_limit"], "domain example.org");
  EXPECT_EQ(d.max_message_rate->text, "50/min");  // provider for the source still applies
  EXPECT_EQ(d.tls, Tls::kRequired);
  EXPECT_EQ(d.origin["tls"], "domain example.org source 127.0.0.61");
  EXPECT_NE(Explain(d).find("connection_limit"), std::string::npos);
  EXPECT_EQ(d.origin["first_retry"], "built-in ([queue])");
  EXPECT_FALSE(d.retry.first_retry);
}

TEST(Rules, SourceAddressesMatchHoweverTheyAreSpelled) {
  // RFC 5952: one address, many spellings; blocks are keyed canonically.
  Rules r;
  r.defaults.by_source["2001:db8::1"].connection_limit = 3;
  Effective builtin;
  auto e = Resolve(r, builtin, "x.example", {}, "2001:DB8:0:0::0001");
  EXPECT_EQ(e.connection_limit, 3u);
  EXPECT_EQ(e.origin["connection_limit"], "default source 2001:db8::1");
}

}  // namespace
}  // namespace sluice::shaping

namespace sluice::shaping {
namespace {

using Sys = std::chrono::system_clock;

TEST(Warmup, RampDoublesDailyUpToTheMax) {
  Warmup w;
  WarmupSchedule s;
  s.start = Sys::time_point(std::chrono::hours(24 * 20000));
  s.initial = 50;
  s.growth = 2.0;
  s.max = 300;
  w.SetSchedule("ip1", s);
  auto day = [&](int n) {
    return s.start + std::chrono::hours(24 * (n - 1)) + std::chrono::hours(3);
  };
  EXPECT_EQ(w.Day("ip1", s.start - std::chrono::seconds(1)), 0);
  EXPECT_EQ(*w.Cap("ip1", s.start - std::chrono::seconds(1)), 0u);  // not started
  EXPECT_EQ(*w.Cap("ip1", day(1)), 50u);
  EXPECT_EQ(*w.Cap("ip1", day(2)), 100u);
  EXPECT_EQ(*w.Cap("ip1", day(3)), 200u);
  EXPECT_EQ(*w.Cap("ip1", day(4)), 300u);
  EXPECT_EQ(*w.Cap("ip1", day(40)), 300u);
  EXPECT_FALSE(w.Cap("other", day(1)));  // no schedule: no cap
}

TEST(Warmup, CapsPerProviderAndStartAgainOnTheNextDay) {
  Warmup w;
  WarmupSchedule s;
  s.start = Sys::time_point(std::chrono::hours(24 * 20000));
  s.plan = {3, 5};
  w.SetSchedule("ip1", s);
  auto t = s.start + std::chrono::hours(23);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(w.TryTake("ip1", "google", t));
  }
  EXPECT_FALSE(w.TryTake("ip1", "google", t));
  EXPECT_TRUE(w.TryTake("ip1", "yahoo", t));  // its own allowance
  EXPECT_EQ(w.Count("ip1", "google", t), 3u);
  EXPECT_EQ(w.NextDay("ip1", t), s.start + std::chrono::hours(24));
  // The simulated day changes: day 2's cap, counts from zero.
  auto t2 = s.start + std::chrono::hours(25);
  EXPECT_EQ(w.Count("ip1", "google", t2), 0u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(w.TryTake("ip1", "google", t2));
  }
  EXPECT_FALSE(w.TryTake("ip1", "google", t2));
  // Past the plan: warmed up, no cap.
  auto t3 = s.start + std::chrono::hours(24 * 2 + 1);
  EXPECT_FALSE(w.Cap("ip1", t3));
  EXPECT_TRUE(w.TryTake("ip1", "google", t3));
}

TEST(Warmup, CountsSurviveSaveAndLoad) {
  WarmupSchedule s;
  s.start = Sys::time_point(std::chrono::hours(24 * 20000));
  s.plan = {10};
  auto t = s.start + std::chrono::hours(1);
  Warmup a;
  a.SetSchedule("ip1", s);
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(a.TryTake("ip1", "other", t));
  }
  Warmup b;
  b.SetSchedule("ip1", s);
  ASSERT_TRUE(b.Load(a.Save()));
  EXPECT_EQ(b.Count("ip1", "other", t), 7u);
  EXPECT_TRUE(b.TryTake("ip1", "other", t));
  EXPECT_TRUE(b.TryTake("ip1", "other", t));
  EXPECT_TRUE(b.TryTake("ip1", "other", t));
  EXPECT_FALSE(b.TryTake("ip1", "other", t));
  EXPECT_FALSE(b.Load("garbage line"));
}

TEST(Warmup, MailNotAcceptedIsGivenBackOnlyTheSameDay) {
  Warmup w;
  WarmupSchedule s;
  s.start = Sys::time_point(std::chrono::hours(24 * 20000));
  s.plan = {2, 2};
  w.SetSchedule("ip1", s);
  auto t = s.start + std::chrono::hours(1);
  ASSERT_TRUE(w.TryTake("ip1", "google", t));
  ASSERT_TRUE(w.TryTake("ip1", "google", t));
  EXPECT_FALSE(w.TryTake("ip1", "google", t));
  w.GiveBack("ip1", "google", t);  // deferred by the receiver: not sent
  EXPECT_EQ(w.Count("ip1", "google", t), 1u);
  EXPECT_TRUE(w.TryTake("ip1", "google", t));
  // A give-back the next day does not touch the new day's count.
  auto t2 = s.start + std::chrono::hours(25);
  ASSERT_TRUE(w.TryTake("ip1", "google", t2));
  w.GiveBack("ip1", "yahoo", t2);
  w.GiveBack("ip2", "google", t2);
  EXPECT_EQ(w.Count("ip1", "google", t2), 1u);
  w.GiveBack("ip1", "google", t2);
  w.GiveBack("ip1", "google", t2);  // never below zero
  EXPECT_EQ(w.Count("ip1", "google", t2), 0u);
}

TEST(Warmup, ShortDaysForRehearsal) {
  Warmup w(std::chrono::seconds(10));
  WarmupSchedule s;
  s.start = Sys::time_point(std::chrono::hours(24 * 20000));
  s.plan = {1, 2};
  w.SetSchedule("ip1", s);
  EXPECT_EQ(w.Day("ip1", s.start + std::chrono::seconds(9)), 1);
  EXPECT_EQ(w.Day("ip1", s.start + std::chrono::seconds(10)), 2);
}

}  // namespace
}  // namespace sluice::shaping
