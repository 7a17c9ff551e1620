// The queue manager with a manual clock and a spool in memory: retries and
// expiry, operator holds, the operator's actions, and the spool kept in step.
#include "queue/manager.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "bounce/dsn.h"
#include "core/clock.h"
#include "support/event_log.h"
#include "support/memory_spool.h"

namespace sluice::queue {
namespace {

using namespace std::chrono_literals;

struct Reports final : ReportSink {
  struct One {
    spool::Meta original;
    bounce::ReportAction action;
    std::vector<bounce::ReportedRecipient> recipients;
  };
  std::vector<One> sent;
  std::vector<std::function<void()>> unread;  // the originals not read yet
  void Report(const spool::Meta& original, bounce::ReportAction action,
              std::vector<bounce::ReportedRecipient> recipients,
              std::function<void()> original_read) override {
    sent.push_back({original, action, std::move(recipients)});
    unread.push_back(std::move(original_read));
  }
  void ReadAll() {
    for (auto& done : std::exchange(unread, {})) {
      done();
    }
  }
};

struct Fixture {
  ManualClock clock;
  testing::MemorySpool spool;
  events::Bus bus;
  testing::EventLog log{bus};
  Reports reports;
  std::unique_ptr<Manager> queue;

  explicit Fixture(std::string suspensions_file = "") {
    ManagerOptions o;
    o.retry.first_retry = 5min;
    o.retry.backoff_factor = 2;
    o.retry.max_interval = 1h;
    o.retry.jitter = 0;
    o.retry.max_age = 3h;
    o.delay_warning = 0ms;
    o.suspensions_file = std::move(suspensions_file);
    o.seed = 7;
    queue = std::make_unique<Manager>(clock, o, spool, bus);
    queue->SetReportSink(&reports);
  }
  spool::Meta Put(std::vector<std::string> rcpts) {
    return spool.Put(rcpts, ToMicros(clock.Now()));
  }
  // One attempt of `w` where every pending recipient gets `code`.
  void Attempt(const WorkItem& w, int code, std::string_view enhanced, std::string_view text) {
    queue->Fail(w, ReplyView{code, enhanced, text}, nullptr, queue->retry());
  }
};

// RFC 5321 §4.5.4.1: a deferred message is retried after a growing interval
// and given up on past its maximum age; then the sender gets a failure
// report saying the delivery time expired (RFC 3463 4.4.7), and the message
// leaves the spool with its outcome recorded first.
TEST(QueueManager, RetriesWithBackOffThenExpiresWithA447Report) {
  Fixture f;
  const spool::Meta m = f.Put({"rcpt@example.com"});
  f.queue->Submit(m);
  auto w = f.queue->PopDue();
  ASSERT_TRUE(w);
  EXPECT_EQ(w->attempts, 0u);
  std::vector<std::chrono::minutes> waits;
  const auto received = f.clock.Now();
  while (waits.size() < 20) {
    f.Attempt(*w, 451, "4.3.0", "try later");
    if (f.log.Count("Expiration") > 0) {
      break;
    }
    const auto due = f.queue->NextWake();
    waits.push_back(std::chrono::duration_cast<std::chrono::minutes>(due - f.clock.Now()));
    EXPECT_EQ(f.spool.records[m.id].meta.due_us, ToMicros(due));  // kept for a restart
    f.clock.Advance(due - f.clock.Now() - 1s);
    EXPECT_FALSE(f.queue->PopDue()) << "not before its due time";
    f.clock.Advance(1s);
    w = f.queue->PopDue();
    ASSERT_TRUE(w);
    EXPECT_EQ(w->attempts, waits.size());
  }
  // 5, 10, 20, 40 minutes, then the 1 hour cap, until 3 hours have passed.
  EXPECT_EQ(waits, (std::vector<std::chrono::minutes>{5min, 10min, 20min, 40min, 60min, 60min}));
  EXPECT_GE(f.clock.Now() - received, 3h);
  EXPECT_EQ(f.log.Count("TransientFailure"), 7u);  // the last attempt too, then its expiry
  auto expired = f.log.Of("Expiration");
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0]["response"].as_object().at("enhanced").as_string(), "4.4.7");
  EXPECT_EQ(expired[0]["attempt"].to_number<int>(), 7);
  // The report: one failed recipient, expired.
  ASSERT_EQ(f.reports.sent.size(), 1u);
  const auto& report = f.reports.sent[0];
  EXPECT_EQ(report.action, bounce::ReportAction::kFailed);
  ASSERT_EQ(report.recipients.size(), 1u);
  EXPECT_TRUE(report.recipients[0].expired);
  bounce::DsnInput in;
  in.action = report.action;
  in.reporting_mta = "mta.example.net";
  in.message_id = "r1";
  in.original = report.original.envelope;
  in.recipients = report.recipients;
  in.now = f.clock.Now();
  const std::string dsn = bounce::BuildReport(in);
  EXPECT_NE(dsn.find("Action: failed"), std::string::npos) << dsn;
  EXPECT_NE(dsn.find("Status: 4.4.7"), std::string::npos) << dsn;
  EXPECT_NE(dsn.find("Final-Recipient: rfc822; rcpt@example.com"), std::string::npos) << dsn;
  // Kept until the report has read it (it may quote it), then gone from the
  // spool; gone from the schedule at once.
  EXPECT_EQ(f.spool.removes, 0);
  EXPECT_EQ(f.spool.records.count(m.id), 1u);
  f.reports.ReadAll();
  EXPECT_EQ(f.spool.removes, 1);
  EXPECT_EQ(f.queue->scheduled(), 0u);
  EXPECT_EQ(f.queue->NextWake(), Clock::Wall::time_point::max());
}

// An API request's send_at: no attempt before it, and the maximum age counts
// from it, not from the reception.
TEST(QueueManager, SendAtHoldsTheFirstAttemptAndStartsTheMaximumAge) {
  Fixture f;
  spool::Meta m = f.Put({"a@example.com"});
  m.send_at_us = ToMicros(f.clock.Now() + 2h);
  f.spool.records[m.id].meta.send_at_us = m.send_at_us;
  f.queue->Submit(m);
  EXPECT_FALSE(f.queue->PopDue());
  EXPECT_EQ(f.queue->NextWake(), f.clock.Now() + 2h);
  f.clock.Advance(2h - 1s);
  EXPECT_FALSE(f.queue->PopDue());
  f.clock.Advance(1s);
  auto w = f.queue->PopDue();
  ASSERT_TRUE(w);
  f.Attempt(*w, 451, "4.3.0", "try later");
  // 3 h 30 min after reception, 1 h 30 min after send_at: not expired.
  f.clock.Advance(90min);
  w = f.queue->PopDue();
  ASSERT_TRUE(w);
  f.Attempt(*w, 451, "4.3.0", "try later");
  EXPECT_EQ(f.log.Count("Expiration"), 0u);
  EXPECT_EQ(f.log.Count("TransientFailure"), 2u);
}

TEST(QueueManager, APermanentReplyBouncesAtOnce) {
  Fixture f;
  f.queue->Submit(f.Put({"gone@example.com", "also@example.com"}));
  auto w = f.queue->PopDue();
  ASSERT_TRUE(w);
  f.Attempt(*w, 550, "5.1.1", "no such user");
  EXPECT_EQ(f.log.Count("Bounce"), 2u);
  ASSERT_EQ(f.reports.sent.size(), 1u);
  EXPECT_EQ(f.reports.sent[0].recipients.size(), 2u);  // one report for both
  f.reports.ReadAll();
  EXPECT_TRUE(f.spool.records.empty());
}

// Each destination domain of a message is its own work item; the message
// leaves the spool once every recipient is final.
TEST(QueueManager, OneItemPerDomainAndRemovalWhenAllAreFinal) {
  Fixture f;
  const auto m = f.Put({"a@one.example", "b@two.example", "c@one.example"});
  f.queue->Submit(m);
  auto first = f.queue->PopDue();
  auto second = f.queue->PopDue();
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(f.queue->PopDue());
  EXPECT_NE(f.queue->names().DomainName(first->queue), f.queue->names().DomainName(second->queue));
  MessageState* s = f.queue->Acquire(*first);
  ASSERT_NE(s, nullptr);
  auto pending = f.queue->PendingFor(*s, first->queue);
  EXPECT_EQ(pending.size(), first->queue == f.queue->names().Find("one.example") ? 2u : 1u);
  for (auto r : pending) {
    f.queue->Record(events::OutcomeType::kDelivery, *s, r, *first, {250, "2.0.0", "ok"}, nullptr,
                    f.queue->retry());
    s->meta.done[r] |= spool::Meta::kFinal;
  }
  f.queue->Finish(*s, *first, {}, f.queue->retry());
  f.queue->Release(*s);
  EXPECT_EQ(f.spool.records.count(m.id), 1u);  // the other domain is pending
  f.Attempt(*second, 550, "5.1.1", "no");
  f.reports.ReadAll();
  EXPECT_EQ(f.spool.records.count(m.id), 0u);
  EXPECT_EQ(f.queue->cached(), 0u);
}

// The queue's view counts recipients still pending per item: a partial
// delivery leaves only the deferred ones; a message leaves the count of
// messages when its last recipient is final.
TEST(QueueManager, QueuedRecipientsFollowPartialDeliveries) {
  Fixture f;
  const auto m = f.Put({"a@one.example", "b@two.example", "c@one.example", "d@one.example"});
  f.queue->Submit(m);
  EXPECT_EQ(f.queue->queued_messages(), 1u);
  auto recipients = [&](std::string_view queue) -> std::uint64_t {
    for (const auto& q : f.queue->Queues()) {
      if (q.name == queue) {
        return q.recipients;
      }
    }
    return 0;
  };
  EXPECT_EQ(recipients("one.example"), 3u);
  EXPECT_EQ(recipients("two.example"), 1u);
  auto first = f.queue->PopDue();
  auto second = f.queue->PopDue();
  ASSERT_TRUE(first && second);
  if (f.queue->names().DomainName(first->queue) != "one.example") {
    std::swap(first, second);
  }
  EXPECT_EQ(first->recipients, 3u);
  // At one.example: one delivered, two deferred.
  MessageState* s = f.queue->Acquire(*first);
  ASSERT_NE(s, nullptr);
  auto pending = f.queue->PendingFor(*s, first->queue);
  ASSERT_EQ(pending.size(), 3u);
  f.queue->Record(events::OutcomeType::kDelivery, *s, pending[0], *first, {250, "2.0.0", "ok"},
                  nullptr, f.queue->retry());
  s->meta.done[pending[0]] |= spool::Meta::kFinal;
  f.queue->Finish(*s, *first, {pending[1], pending[2]}, f.queue->retry());
  f.queue->Release(*s);
  EXPECT_EQ(recipients("one.example"), 2u);
  f.Attempt(*second, 550, "5.1.1", "no");
  EXPECT_EQ(recipients("two.example"), 0u);
  EXPECT_EQ(f.queue->queued_messages(), 1u);
  f.clock.Advance(10min);
  auto retry = f.queue->PopDue();
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->recipients, 2u);
  EXPECT_EQ(retry->attempts, 1u);
  f.Attempt(*retry, 550, "5.1.1", "no");
  EXPECT_EQ(f.queue->queued_messages(), 0u);
}

// An operator's suspension holds a target's mail (and only its mail) until it
// ends by itself, and is kept over a restart.
TEST(QueueManager, OperatorSuspensionLiftsAtItsEndAndSurvivesARestart) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("sluice-manager-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "suspensions.state").string();
  {
    Fixture f(file);
    EXPECT_EQ(f.queue->Suspend("acme@example.com", 30min), 0u);
    auto held = f.Put({"x@example.com"});
    held.tenant = "acme";
    f.spool.records[held.id].meta = held;
    f.queue->Submit(held);
    f.queue->Submit(f.Put({"y@example.com"}));  // no tenant: not covered
    auto w = f.queue->PopDue();
    ASSERT_TRUE(w);
    EXPECT_EQ(f.queue->names().Name(w->queue), "example.com");
    EXPECT_FALSE(f.queue->PopDue());  // acme's is held
    auto queues = f.queue->Queues();
    ASSERT_EQ(queues.size(), 1u);
    EXPECT_EQ(queues[0].name, "acme@example.com");
    EXPECT_TRUE(queues[0].suspended);
    EXPECT_EQ(f.queue->NextWake(), f.clock.Now() + 30min);
    f.clock.Advance(30min);
    auto released = f.queue->PopDue();
    ASSERT_TRUE(released);
    EXPECT_EQ(f.queue->names().Name(released->queue), "acme@example.com");
    f.queue->Suspend("spring:acme@*", std::nullopt);  // until resumed
  }
  {
    Fixture again(file);
    again.queue->LoadSuspensions();
    auto held = again.queue->HeldTargets();
    ASSERT_EQ(held.size(), 1u);
    EXPECT_EQ(held[0].target, "spring:acme@*");
    EXPECT_EQ(held[0].until_us, 0);
    auto m = again.Put({"z@elsewhere.example"});
    m.tenant = "acme";
    m.campaign = "spring";
    again.spool.records[m.id].meta = m;
    again.queue->Submit(m);
    EXPECT_FALSE(again.queue->PopDue());
    EXPECT_EQ(again.queue->Resume("spring:acme@*"), 1u);
    EXPECT_TRUE(again.queue->PopDue());
  }
  std::filesystem::remove_all(dir);
}

TEST(QueueManager, FlushMakesDeferredMailDueNow) {
  Fixture f;
  f.queue->Submit(f.Put({"a@example.com"}));
  f.queue->Submit(f.Put({"b@example.org"}));
  for (int i = 0; i < 2; ++i) {
    auto w = f.queue->PopDue();
    ASSERT_TRUE(w);
    f.Attempt(*w, 451, "4.0.0", "later");
  }
  EXPECT_FALSE(f.queue->PopDue());
  // Mail held for its send_at is not deferred mail: it keeps its time.
  spool::Meta later = f.Put({"c@example.com"});
  later.send_at_us = ToMicros(f.clock.Now() + 1h);
  f.queue->Submit(later);
  EXPECT_EQ(f.queue->Flush("example.com"), 1u);
  auto w = f.queue->PopDue();
  ASSERT_TRUE(w);
  EXPECT_EQ(f.queue->names().Name(w->queue), "example.com");
  EXPECT_EQ(w->attempts, 1u);
  EXPECT_FALSE(f.queue->PopDue());
}

// Administrative bounces: AdminBounce events, no report, gone from the spool;
// by target (its queued items) or by message id.
TEST(QueueManager, AdminBounceByTargetAndById) {
  Fixture f;
  const auto a = f.Put({"a@example.com"});
  const auto b = f.Put({"b@example.com", "c@example.org"});
  f.queue->Submit(a);
  f.queue->Submit(b);
  EXPECT_EQ(f.queue->AdminBounce("example.com"), 2u);
  EXPECT_EQ(f.log.Count("AdminBounce"), 2u);
  EXPECT_TRUE(f.reports.sent.empty());
  EXPECT_EQ(f.spool.records.count(a.id), 0u);
  EXPECT_EQ(f.spool.records.count(b.id), 1u);  // c@example.org pending
  EXPECT_EQ(f.queue->AdminBounce(b.id.Hex()), 1u);
  EXPECT_EQ(f.spool.records.count(b.id), 0u);
  EXPECT_FALSE(f.queue->PopDue());  // the void items are gone
}

// Items parked for want of room in a ready queue are counted and come back in order.
TEST(QueueManager, ParkedItemsComeBackInOrder) {
  Fixture f;
  std::vector<SpoolId> ids;
  for (int i = 0; i < 5; ++i) {
    auto m = f.Put({"r@example.com"});
    ids.push_back(m.id);
    f.queue->Submit(m);
  }
  std::uint32_t domain = 0;
  while (auto w = f.queue->PopDue()) {
    domain = f.queue->names().Domain(w->queue);
    f.queue->Park(domain, *w);
  }
  EXPECT_EQ(f.queue->parked(domain), 5u);
  EXPECT_EQ(f.queue->Queues().at(0).messages, 5u);
  auto some = f.queue->Unpark(domain, 2);
  ASSERT_EQ(some.size(), 2u);
  EXPECT_EQ(some[0].id, ids[0]);
  EXPECT_EQ(some[1].id, ids[1]);
  EXPECT_EQ(f.queue->Unpark(domain, 99).size(), 3u);
  EXPECT_EQ(f.queue->parked(domain), 0u);
}

// Metadata read off the owner's thread is not used if the message was
// written meanwhile: it is read again.
TEST(QueueManager, AStaleReadIsReadAgain) {
  Fixture f;
  auto m = f.Put({"a@one.example", "b@two.example"});
  f.queue->Restore(m);  // nothing in memory
  auto w1 = f.queue->PopDue();
  auto w2 = f.queue->PopDue();
  ASSERT_TRUE(w1 && w2);
  f.queue->BeginRead(w2->id);
  auto early = f.spool.ReadMeta(w2->id);  // read "elsewhere", before the write
  f.Attempt(*w1, 550, "5.1.1", "no");     // writes the message: one recipient final
  const int reads = f.spool.meta_reads;
  MessageState* s = f.queue->AcquireRead(*w2, std::move(early));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(f.spool.meta_reads, reads + 1);  // read again
  EXPECT_EQ(std::count_if(s->meta.done.begin(), s->meta.done.end(),
                          [](std::uint8_t d) { return (d & spool::Meta::kFinal) != 0; }),
            1);
  f.queue->Release(*s);
}

TEST(QueueManager, AnUnreadableMessageIsTriedAgainLater) {
  Fixture f;
  f.queue->Restore(f.Put({"a@example.com"}));
  auto w = f.queue->PopDue();
  ASSERT_TRUE(w);
  f.spool.fail_reads = true;
  EXPECT_EQ(f.queue->Acquire(*w), nullptr);
  EXPECT_EQ(f.queue->NextWake(), f.clock.Now() + 5min);
}

}  // namespace
}  // namespace sluice::queue
