// The shaper with a manual clock: what replies, failed connections and
// successes do to a path, step by step, and what is kept over a restart.
#include "shaping/shaper.h"

#include <gtest/gtest.h>

#include "core/clock.h"

namespace sluice::shaping {
namespace {

using namespace std::chrono_literals;

Effective Limits(std::uint32_t connections) {
  Effective e;
  e.connection_limit = connections;
  return e;
}

struct Fixture {
  ManualClock clock;
  Shaper shaper{clock, ShaperOptions{30s, 10min}, nullptr};
  PathState path{"ip1->mx.example.net", "mx.example.net", 0};
  std::vector<Announcement> said;

  Fixture() { path.Configure(Limits(8), nullptr, clock.SteadyNow()); }
  bool Reply(int code, std::string_view enhanced = "", std::string_view text = "",
             const Group* group = nullptr, std::uint32_t active = 8) {
    return shaper.OnReply(path, shaping::Reply{code, enhanced, text}, active, group, said);
  }
};

// RFC 5321 §4.5.4.1: a 421 asks us to come back later. The built-in answer
// halves the path's concurrency at each 421 ...
TEST(Shaper, A421HalvesConcurrencyEachTime) {
  Fixture f;
  EXPECT_EQ(f.path.ConnectionLimit(), 8u);
  f.Reply(421, "4.7.0", "too many connections");
  EXPECT_EQ(f.path.ConnectionLimit(), 4u);
  ASSERT_EQ(f.said.size(), 1u);
  EXPECT_EQ(f.said[0].action, "halve concurrency");
  f.Reply(421);
  EXPECT_EQ(f.path.ConnectionLimit(), 2u);
  f.Reply(421);
  EXPECT_EQ(f.path.ConnectionLimit(), 1u);
  f.Reply(421);
  EXPECT_EQ(f.path.ConnectionLimit(), 1u);  // never below one
  // Other replies leave it.
  f.Reply(450, "4.2.1", "mailbox busy");
  EXPECT_EQ(f.path.ConnectionLimit(), 1u);
}

// ... and successes grow it back by about one connection per window of
// successes (slow start), until the configured limit is reached again.
TEST(Shaper, SlowStartRegrowsStepByStep) {
  Fixture f;
  f.Reply(421, "", "", nullptr, /*active=*/8);
  ASSERT_DOUBLE_EQ(f.path.cap(), 4.0);
  std::vector<std::uint32_t> limits;
  int successes = 0;
  while (f.path.cap() > 0 && successes < 100) {
    f.shaper.OnSuccess(f.path);
    ++successes;
    limits.push_back(f.path.ConnectionLimit());
  }
  EXPECT_EQ(f.path.cap(), 0.0);  // recovered: the configured limit again
  EXPECT_EQ(f.path.ConnectionLimit(), 8u);
  // cap += 1/cap per success: about as many successes as connections per
  // step (4 from 4 to 5, 5 from 5 to 6, ...), then the configured limit.
  EXPECT_EQ(limits, (std::vector<std::uint32_t>{4, 4, 4, 4, 5, 5, 5, 5, 5, 6, 6, 6,
                                                6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 8}));
}

// RFC 5321 §5.1: a host that cannot be reached is tried again later. The
// path is suspended for the back-off, which doubles per failure in a row up
// to the maximum and starts over after a connection succeeds.
TEST(Shaper, DeadDestinationBackOffDoublesAndResets) {
  Fixture f;
  std::vector<std::chrono::seconds> backoffs;
  for (int i = 0; i < 7; ++i) {
    f.shaper.OnConnectFailed(f.path, f.said);
    ASSERT_TRUE(f.path.Suspended(f.clock.SteadyNow()));
    backoffs.push_back(std::chrono::duration_cast<std::chrono::seconds>(f.path.suspended_until() -
                                                                        f.clock.SteadyNow()));
    f.clock.Advance(f.path.suspended_until() - f.clock.SteadyNow());
    EXPECT_FALSE(f.path.Suspended(f.clock.SteadyNow()));  // lifts at its end
  }
  EXPECT_EQ(backoffs, (std::vector<std::chrono::seconds>{30s, 60s, 120s, 240s, 480s, 600s, 600s}));
  EXPECT_EQ(f.said.back().rule, "built-in: 7 failed connections in a row");
  f.shaper.OnConnected(f.path);
  f.shaper.OnConnectFailed(f.path, f.said);
  EXPECT_EQ(f.path.suspended_until() - f.clock.SteadyNow(), 30s);
  // A built-in back-off is not kept over a restart.
  EXPECT_EQ(f.shaper.StateText(), "");
}

Rules OneRule(Automation a) {
  std::string why;
  EXPECT_TRUE(CompilePattern(a, &why)) << why;
  Rules r;
  r.defaults.automation.push_back(std::move(a));
  return r;
}

void UseRules(Fixture& f, const std::shared_ptr<const Rules>& rules) {
  Effective e = Resolve(*rules, Limits(8), "example.net", {"mx.example.net"}, "");
  f.path.Configure(e, rules, f.clock.SteadyNow());
}

// A reply rule with a threshold ("3/10min") acts at the 3rd match within its
// window, not before; matches that fall out of the window do not count.
TEST(Shaper, ThresholdRuleFiresAtTheNthMatchInItsWindow) {
  Fixture f;
  Automation a;
  a.name = "ts03";
  a.pattern = "TS03";
  a.action = Action::kSuspend;
  a.duration = 1h;
  a.threshold = 3;
  a.window = 10min;
  auto rules = std::make_shared<const Rules>(OneRule(a));
  UseRules(f, rules);
  f.Reply(421, "4.7.0", "[TS03] try later");
  f.clock.Advance(6min);
  f.Reply(421, "4.7.0", "[TS03] try later");
  f.clock.Advance(6min);  // the first is now 12 minutes old: out of the window
  f.Reply(421, "4.7.0", "[TS03] try later");
  EXPECT_FALSE(f.path.Suspended(f.clock.SteadyNow()));
  f.Reply(550, "5.1.1", "no such user");  // does not match: does not count
  EXPECT_FALSE(f.path.Suspended(f.clock.SteadyNow()));
  f.clock.Advance(1min);
  f.Reply(421, "4.7.0", "[TS03] try later");  // third within ten minutes
  ASSERT_TRUE(f.path.Suspended(f.clock.SteadyNow()));
  EXPECT_EQ(f.path.suspended_until() - f.clock.SteadyNow(), 1h);
  EXPECT_EQ(f.said.back().rule, "ts03");
  EXPECT_EQ(f.said.back().action, "suspend");
  // The suspension lifts at its end.
  f.clock.Advance(1h - 1s);
  EXPECT_TRUE(f.path.Suspended(f.clock.SteadyNow()));
  f.clock.Advance(1s);
  EXPECT_FALSE(f.path.Suspended(f.clock.SteadyNow()));
}

TEST(Shaper, LimitRuleEndsByItself) {
  Fixture f;
  Automation a;
  a.name = "slow down";
  a.code = 451;
  a.action = Action::kLimit;
  a.limit.connection_limit = 2;
  a.duration = 15min;
  auto rules = std::make_shared<const Rules>(OneRule(a));
  UseRules(f, rules);
  f.Reply(451, "4.3.2", "busy");
  EXPECT_EQ(f.path.ConnectionLimit(), 2u);
  EXPECT_EQ(f.path.NextChange(f.clock.SteadyNow()), f.clock.SteadyNow() + 15min);
  f.clock.Advance(14min);
  EXPECT_FALSE(f.path.Tick(f.clock.SteadyNow()));
  EXPECT_EQ(f.path.ConnectionLimit(), 2u);
  f.clock.Advance(1min);
  EXPECT_TRUE(f.path.Tick(f.clock.SteadyNow()));
  EXPECT_EQ(f.path.ConnectionLimit(), 8u);
}

TEST(Shaper, BounceRuleSaysSo) {
  Fixture f;
  Automation a;
  a.name = "blocked";
  a.pattern = "blocked";
  a.action = Action::kBounce;
  UseRules(f, std::make_shared<const Rules>(OneRule(a)));
  EXPECT_TRUE(f.Reply(451, "4.7.1", "sender blocked"));
  EXPECT_FALSE(f.Reply(451, "4.7.1", "try later"));
}

// Tenant and campaign rules hold that tenant's (or campaign's) mail on the
// site, from every source, and no one else's; their matches count per group.
TEST(Shaper, TenantAndCampaignSuspensions) {
  Fixture f;
  Automation tenant_rule;
  tenant_rule.name = "tenant spam";
  tenant_rule.pattern = "spam";
  tenant_rule.scope = Scope::kTenant;
  tenant_rule.duration = 2h;
  tenant_rule.threshold = 2;
  tenant_rule.window = 1h;
  Automation campaign_rule;
  campaign_rule.name = "campaign content";
  campaign_rule.pattern = "content";
  campaign_rule.scope = Scope::kCampaign;
  campaign_rule.duration = 30min;
  Rules r = OneRule(tenant_rule);
  std::string why;
  ASSERT_TRUE(CompilePattern(campaign_rule, &why));
  r.defaults.automation.push_back(campaign_rule);
  UseRules(f, std::make_shared<const Rules>(std::move(r)));

  const Group acme{"acme", "spring"};
  const Group other{"other", ""};
  f.Reply(550, "5.7.1", "spam", &acme);
  f.Reply(550, "5.7.1", "spam", &other);  // another group: counted apart
  EXPECT_FALSE(f.shaper.GroupSuspended("acme", "", "mx.example.net"));
  f.Reply(550, "5.7.1", "spam", nullptr);  // a greeting's reply: no group
  EXPECT_FALSE(f.shaper.GroupSuspended("acme", "", "mx.example.net"));
  f.Reply(550, "5.7.1", "spam", &acme);
  auto until = f.shaper.GroupSuspended("acme", "autumn", "mx.example.net");
  ASSERT_TRUE(until);
  EXPECT_EQ(*until, f.clock.SteadyNow() + 2h);
  EXPECT_EQ(f.said.back().action, "suspend tenant");
  EXPECT_TRUE(f.said.back().group);
  EXPECT_FALSE(f.shaper.GroupSuspended("other", "", "mx.example.net"));
  EXPECT_FALSE(f.shaper.GroupSuspended("acme", "", "mx.elsewhere.net"));  // this site only
  EXPECT_FALSE(f.path.Suspended(f.clock.SteadyNow()));                    // not the path

  // A campaign rule holds one campaign of one tenant.
  f.Reply(554, "5.7.0", "content rejected", &acme);
  EXPECT_EQ(f.said.back().action, "suspend campaign");
  EXPECT_EQ(f.said.back().campaign, "spring");
  EXPECT_TRUE(f.shaper.GroupSuspended("zeta", "spring", "mx.example.net") == std::nullopt);
  auto suspensions = f.shaper.GroupSuspensions();
  ASSERT_EQ(suspensions.size(), 2u);

  // Both lift at their end.
  f.clock.Advance(2h);
  EXPECT_FALSE(f.shaper.GroupSuspended("acme", "spring", "mx.example.net"));
  EXPECT_TRUE(f.shaper.GroupSuspensions().empty());
}

// A reply rule's suspensions (of paths and of groups) and the warm-up counts
// survive a restart through the state text, with their ends in wall time.
TEST(Shaper, StateKeepsRuleSuspensionsAndWarmupCounts) {
  Fixture f;
  Automation a;
  a.name = "ts03";
  a.pattern = "TS03";
  a.duration = 1h;
  UseRules(f, std::make_shared<const Rules>(OneRule(a)));
  f.Reply(421, "4.7.0", "TS03");
  ASSERT_TRUE(f.shaper.dirty());
  const std::string text = f.shaper.StateText();
  EXPECT_NE(text.find("path "), std::string::npos);

  ManualClock later(f.clock.Now() + 10min);
  Shaper restarted(later, ShaperOptions{}, nullptr);
  ASSERT_TRUE(restarted.LoadState(text));
  PathState again("ip1->mx.example.net", "mx.example.net", 0);
  restarted.Restore(again);
  ASSERT_TRUE(again.Suspended(later.SteadyNow()));
  EXPECT_EQ(
      std::chrono::duration_cast<std::chrono::minutes>(again.suspended_until() - later.SteadyNow()),
      50min);
  // Long past its end, nothing is restored.
  ManualClock much_later(f.clock.Now() + 2h);
  Shaper late(much_later, ShaperOptions{}, nullptr);
  ASSERT_TRUE(late.LoadState(text));
  PathState fresh("ip1->mx.example.net", "mx.example.net", 0);
  late.Restore(fresh);
  EXPECT_FALSE(fresh.Suspended(much_later.SteadyNow()));
  EXPECT_FALSE(late.LoadState("path notanumber x\n"));
}

// Warm-up through the shaper: a source's cap for a provider is reached, mail
// is refused on that source until its next day begins, and the counts come
// back after a restart.
TEST(Shaper, WarmupCapsAcrossADayChange) {
  ManualClock clock;
  auto warmup = std::make_shared<Warmup>();
  WarmupSchedule s;
  s.start = clock.Now() - 1h;  // day 1 began an hour ago
  s.plan = {3, 5};
  warmup->SetSchedule("new-ip", s);
  Shaper shaper(clock, ShaperOptions{}, warmup);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(shaper.TakeWarmup("new-ip", "gmail"));
  }
  EXPECT_FALSE(shaper.TakeWarmup("new-ip", "gmail"));
  EXPECT_TRUE(shaper.TakeWarmup("new-ip", "yahoo"));  // per provider
  EXPECT_TRUE(shaper.TakeWarmup("old-ip", "gmail"));  // no schedule: no cap
  shaper.GiveBackWarmup("new-ip", "gmail");           // the receiver did not take one
  EXPECT_TRUE(shaper.TakeWarmup("new-ip", "gmail"));
  EXPECT_FALSE(shaper.TakeWarmup("new-ip", "gmail"));
  EXPECT_EQ(shaper.NextWarmupDay("new-ip"), s.start + 24h);

  const std::string text = shaper.StateText();
  auto warmup2 = std::make_shared<Warmup>();
  warmup2->SetSchedule("new-ip", s);
  Shaper restarted(clock, ShaperOptions{}, warmup2);
  ASSERT_TRUE(restarted.LoadState(text));
  EXPECT_FALSE(restarted.TakeWarmup("new-ip", "gmail"));  // still today's count

  clock.Advance(23h);  // day 2: a new count and cap
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(restarted.TakeWarmup("new-ip", "gmail")) << i;
  }
  EXPECT_FALSE(restarted.TakeWarmup("new-ip", "gmail"));
  clock.Advance(24h);  // past the plan: warmed up
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(restarted.TakeWarmup("new-ip", "gmail"));
  }
}

TEST(Egress, WeightedRoundRobinInterleaves) {
  EgressOptions o;
  o.sources = {{"a", "127.0.0.2", "a.example"}, {"b", "127.0.0.3", "b.example"}};
  o.weights = {2, 1};
  o.pools.push_back({"bulk", {1}, {1}});
  o.tenant_pools["acme"] = "bulk";
  Egress e(o, {"", "", "localhost"});
  std::string picks;
  for (int i = 0; i < 6; ++i) {
    picks += e.source(e.Members(0)[e.Pick(0)]).name;
  }
  EXPECT_EQ(picks, "abaaba");
  const std::size_t bulk = e.PoolIndex(o, "acme", "");
  EXPECT_EQ(e.source(e.Members(bulk)[e.Pick(bulk)]).name, "b");
  EXPECT_EQ(e.PoolIndex(o, "someone", ""), 0u);
  EXPECT_EQ(ChoosePool(o, "acme", "").why, "tenant acme");
}

TEST(Egress, ASourceTakenOutIsSkippedUntilPutBack) {
  EgressOptions o;
  o.sources = {{"a", "127.0.0.2", "a.example"},
               {"b", "127.0.0.3", "b.example"},
               {"c", "127.0.0.4", "c.example"}};
  o.weights = {1, 1, 1};
  o.pools.push_back({"solo", {1}, {1}});
  o.tenant_pools["acme"] = "solo";
  Egress e(o, {"", "", "localhost"});
  auto picks = [&e](std::size_t pool, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) {
      out += e.source(e.Members(pool)[e.Pick(pool)]).name;
    }
    return out;
  };
  ASSERT_EQ(e.FindAddress("127.0.0.3"), std::vector<std::size_t>{1});
  EXPECT_TRUE(e.FindAddress("127.0.0.9").empty());
  EXPECT_TRUE(e.SetOut(1, true));
  EXPECT_FALSE(e.SetOut(1, true));  // no change
  EXPECT_EQ(picks(0, 6).find('b'), std::string::npos);
  // A pool whose every source is out still sends (from them).
  EXPECT_EQ(picks(e.PoolIndex(o, "acme", ""), 2), "bb");
  EXPECT_TRUE(e.SetOut(1, false));
  EXPECT_NE(picks(0, 6).find('b'), std::string::npos);
}

}  // namespace
}  // namespace sluice::shaping
