// Retry schedule (RFC 5321 §4.5.4.1) with a fixed RNG; scheduler fairness.
#include <gtest/gtest.h>

#include "queue/queue_name.h"
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

QueueNames names;

WorkItem Item(std::string_view domain, WallTime due, bool deferred) {
  WorkItem w;
  w.id = SpoolId::Generate();
  w.queue = names.Intern(domain);
  w.due = due;
  w.attempts = deferred ? 1 : 0;
  return w;
}

TEST(QueueNames, InternedOnce) {
  QueueNames n;
  auto a = n.Intern("a.example");
  for (int i = 0; i < 1000; ++i) {
    n.Intern("d" + std::to_string(i) + ".example");  // growth keeps earlier names valid
  }
  EXPECT_EQ(n.Intern("a.example"), a);
  EXPECT_EQ(n.Name(a), "a.example");
  EXPECT_EQ(n.Find("d999.example"), n.Intern("d999.example"));
  EXPECT_FALSE(n.Find("z.example"));
}

TEST(Scheduler, EntryIsSmall) {
  EXPECT_LE(sizeof(WorkItem), 32u);
}

TEST(Scheduler, OnlyDueItemsPop) {
  Scheduler s;
  auto t0 = WallTime(1000s);
  s.Add(Item("a", t0 + 10s, true), t0);
  EXPECT_FALSE(s.PopDue(t0).has_value());
  EXPECT_EQ(s.NextDue(), t0 + 10s);
  EXPECT_TRUE(s.PopDue(t0 + 10s).has_value());
  EXPECT_EQ(s.size(), 0u);
}

TEST(Scheduler, NewMailIsNotStarvedByDueBacklog) {
  Scheduler s;
  auto t0 = WallTime(1000s);
  for (int i = 0; i < 100; ++i) {
    s.Add(Item("old", t0 - 1s, true), t0);
  }
  s.Add(Item("new", t0, false), t0);
  s.Add(Item("new", t0, false), t0);
  int new_in_first_four = 0;
  for (int i = 0; i < 4; ++i) {
    auto w = s.PopDue(t0);
    ASSERT_TRUE(w);
    new_in_first_four += names.Name(w->queue) == "new";
  }
  EXPECT_EQ(new_in_first_four, 2);
}

TEST(Scheduler, FlushMakesDomainDue) {
  Scheduler s;
  auto t0 = WallTime(1000s);
  s.Add(Item("a", t0 + 1h, true), t0);
  s.Add(Item("b", t0 + 1h, true), t0);
  const auto a = names.Intern("a");
  EXPECT_EQ(s.Flush([a](std::uint32_t q) { return q == a; }, t0), 1u);
  auto w = s.PopDue(t0);
  ASSERT_TRUE(w);
  EXPECT_EQ(names.Name(w->queue), "a");
  EXPECT_FALSE(s.PopDue(t0).has_value());
  EXPECT_EQ(s.Flush({}, t0), 1u);
  EXPECT_TRUE(s.PopDue(t0).has_value());
}

TEST(Scheduler, ExtractTakesOneQueueAndKeepsOrder) {
  Scheduler s;
  auto t0 = WallTime(1000s);
  for (int i = 0; i < 10; ++i) {
    s.Add(Item(i % 2 ? "odd" : "even", t0 + std::chrono::seconds(10 - i), true), t0);
  }
  s.Add(Item("odd", t0, false), t0);
  auto odd_queue = names.Intern("odd");
  auto odd = s.Extract([&](const WorkItem& w) { return w.queue == odd_queue; });
  EXPECT_EQ(odd.size(), 6u);
  EXPECT_EQ(s.size(), 5u);
  auto prev = WallTime::min();
  while (auto w = s.PopDue(t0 + 1h)) {
    EXPECT_EQ(names.Name(w->queue), "even");
    EXPECT_GE(w->due, prev);  // still a heap
    prev = w->due;
  }
}

TEST(Scheduler, NewMailHeldForLaterDoesNotHoldUpNewMail) {
  // A warm-up cap or a suspension puts a never-tried item back for tomorrow.
  Scheduler s;
  auto now = std::chrono::system_clock::now();
  s.Add(Item("held", now + 24h, false), now);
  s.Add(Item("new", now, false), now);
  auto w = s.PopDue(now + 1s);
  ASSERT_TRUE(w);
  EXPECT_EQ(names.Name(w->queue), "new");
  EXPECT_FALSE(s.PopDue(now + 1s).has_value());
  EXPECT_EQ(s.NextDue(), now + 24h);
  auto held = s.PopDue(now + 24h);
  ASSERT_TRUE(held);
  EXPECT_FALSE(held->deferred());  // still new mail: never tried
}

TEST(QueueName, FormatsAndParsesEveryShape) {
  // "campaign:tenant@domain", each tag optional (the queue names of ARCHITECTURE.md).
  struct Case {
    QueueName q;
    const char* text;
  } cases[] = {
      {{"", "", "example.com"}, "example.com"},
      {{"", "acme", "example.com"}, "acme@example.com"},
      {{"spring", "", "example.com"}, "spring:example.com"},
      {{"spring", "acme", "example.com"}, "spring:acme@example.com"},
      // RFC 5321 §4.1.3 address literals: their colons are not separators.
      {{"", "", "[IPv6:2001:db8::1]"}, "[IPv6:2001:db8::1]"},
      {{"spring", "acme", "[IPv6:2001:db8::1]"}, "spring:acme@[IPv6:2001:db8::1]"},
      {{"", "acme", "[192.0.2.1]"}, "acme@[192.0.2.1]"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(c.q.ToString(), c.text);
    auto back = QueueName::Parse(c.text);
    ASSERT_TRUE(back) << c.text;
    EXPECT_EQ(back->campaign, c.q.campaign);
    EXPECT_EQ(back->tenant, c.q.tenant);
    EXPECT_EQ(back->domain, c.q.domain);
  }
}

TEST(QueueName, RejectsBadTags) {
  EXPECT_FALSE(QueueName::Parse(""));
  EXPECT_FALSE(QueueName::Parse("@example.com"));
  EXPECT_FALSE(QueueName::Parse(":example.com"));
  EXPECT_FALSE(QueueName::Parse("a b:example.com"));
  EXPECT_FALSE(QueueName::Parse("acme@"));
  EXPECT_FALSE(QueueName::Parse("x:acme@b@example.com"));
  EXPECT_FALSE(QueueName::Parse("acme@[IPv6:2001:db8::1"));
  EXPECT_FALSE(QueueName::Parse("acme@x[1]"));
  EXPECT_FALSE(QueueName::Parse("acme@[]"));
  EXPECT_FALSE(QueueName::Parse("[a]b]"));
  EXPECT_FALSE(ValidTag(std::string(65, 'a')));
  EXPECT_TRUE(ValidTag(std::string(64, 'a')));
  EXPECT_FALSE(ValidTag("caf\xc3\xa9"));
}

TEST(QueueNames, OperatorTargetsAreFilters) {
  QueueNames n;
  auto plain = n.Intern("example.com");
  auto acme = n.Intern("acme@example.com");
  auto spring = n.Intern("spring:acme@example.com");
  auto beta_other = n.Intern("beta@other.example");
  auto spring_other = n.Intern("spring:acme@other.example");
  auto covers = [&](const char* target) {
    std::vector<std::uint32_t> out;
    auto t = n.Intern(target);
    for (auto q : {plain, acme, spring, beta_other, spring_other}) {
      if (n.Covers(t, q)) {
        out.push_back(q);
      }
    }
    return out;
  };
  using V = std::vector<std::uint32_t>;
  EXPECT_EQ(covers("example.com"), (V{plain, acme, spring}));  // every queue to the domain
  EXPECT_EQ(covers("acme@example.com"), (V{acme, spring}));    // any campaign of acme
  EXPECT_EQ(covers("spring:acme@example.com"), (V{spring}));
  EXPECT_EQ(covers("acme@*"), (V{acme, spring, spring_other}));  // acme everywhere
  EXPECT_EQ(covers("spring:acme@*"), (V{spring, spring_other}));
  EXPECT_EQ(covers("*"), (V{plain, acme, spring, beta_other, spring_other}));
  EXPECT_EQ(covers("nowhere.example"), V{});
}

TEST(QueueNames, TaggedNamesKnowTheirDomain) {
  QueueNames n;
  auto tagged = n.Intern("spring:acme@example.com");
  auto plain = n.Intern("example.com");
  EXPECT_NE(tagged, plain);
  EXPECT_EQ(n.Domain(tagged), plain);
  EXPECT_EQ(n.Domain(plain), plain);
  EXPECT_EQ(n.DomainName(tagged), "example.com");
  EXPECT_EQ(n.Intern("spring:acme@example.com"), tagged);
}

}  // namespace
}  // namespace sluice::queue
