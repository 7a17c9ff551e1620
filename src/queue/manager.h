#pragma once
// Security: decides when accepted mail is tried, retried, given up on and
//           removed; a mistake here loses or duplicates mail.
// Standards: RFC 5321 §4.5.4.1 (retry strategy, give-up time), RFC 3464 and
//            RFC 3461 (which outcomes are reported to the sender, and how),
//            RFC 3463 (4.4.7: delivery time expired).
//
// The queue manager: the scheduled queues (one entry of 32 bytes per
// message and destination domain, due-time ordered), retry and expiry
// decisions, operator holds (suspensions by target, kept over restarts), the
// operator's actions (summary, flush, suspend, resume, bounce), and the
// message lifecycle in the spool: metadata read when a message is tried,
// outcomes recorded, the message removed once every recipient is final.
//
// Delivery takes due items (PopDue), routes them and reports back what
// happened (Record, Finish, Fail); it holds items meanwhile, and lists and
// gives them up through the Downstream interface for the operator's actions.
// Time comes from the injected clock, retry jitter from a seeded generator.
// Single-threaded: every call on the owner's thread.
//
// Memory: only messages in use keep their metadata in memory (new mail too,
// until its first delivery, up to a limit); a queued message costs its work
// items.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "bounce/classify.h"
#include "bounce/dsn.h"
#include "core/clock.h"
#include "events/events.h"
#include "queue/retry.h"
#include "queue/scheduler.h"
#include "spool/spool.h"

namespace sluice::queue {

// A reply as the queue records it.
struct ReplyView {
  int code = 0;
  std::string_view enhanced;
  std::string_view text;
};

// Where an attempt went, for the outcome events and reports.
struct AttemptInfo {
  std::string_view site;
  std::string_view provider;  // shaping provider ("other": none)
  std::string_view egress_source;
  std::string_view mx_host;
  std::string_view mx_ip;
  std::string_view tls_version;
  std::string_view tls_cipher;
  std::string_view tls_policy;     // delivery/tls_policy.h: "opportunistic", "dane", ...
  bool tls_authenticated = false;  // the server proved its identity (verify, DANE)
  bool next_hop_dsn = false;       // the next hop took NOTIFY: it reports success itself
  std::chrono::milliseconds took{0};
};

// Where reports to senders (RFC 3464) go: built and submitted like any
// other message (implemented by ingest, injected by app/). The spool keeps
// the original until `original_read` is called (on the manager's thread):
// the report may quote it.
class ReportSink {
 public:
  virtual ~ReportSink() = default;
  virtual void Report(const spool::Meta& original, bounce::ReportAction action,
                      std::vector<bounce::ReportedRecipient> recipients,
                      std::function<void()> original_read) = 0;
};

// The work items delivery holds (waiting for a route, in ready queues).
class Downstream {
 public:
  virtual ~Downstream() = default;
  virtual void ForEachItem(const std::function<void(const WorkItem&)>& fn) const = 0;
  // Takes the items `match` accepts out of delivery.
  virtual std::vector<WorkItem> TakeItems(const std::function<bool(const WorkItem&)>& match) = 0;
};

// A message whose metadata is in memory: while deliveries or operator actions
// use it (`users`), and new mail until its first delivery.
struct MessageState {
  explicit MessageState(spool::Meta m) : meta(std::move(m)) {}
  spool::Meta meta;
  std::uint32_t users = 0;
  bool removed = false;  // every recipient final; the spool removal is queued
  // Recipients awaiting a report to the sender, by kind.
  std::vector<bounce::ReportedRecipient> failed;
  std::vector<bounce::ReportedRecipient> delayed;
  std::vector<bounce::ReportedRecipient> relayed;
};

struct ManagerOptions {
  RetryPolicy retry;
  // A recipient that asked for delay reports (NOTIFY=DELAY) gets one once its
  // message has waited this long; zero: never.
  std::chrono::milliseconds delay_warning = std::chrono::hours(4);
  // Where operator suspensions are kept over restarts (empty: not kept).
  std::string suspensions_file;
  // New mail keeps its metadata in memory until its first delivery, up to
  // this many messages; beyond, it is read back from the spool when due.
  std::size_t fresh_cache_limit = 20000;
  std::uint64_t seed = 0;  // retry jitter
};

// Operator view of the queues.
struct QueueView {
  std::string name;              // "campaign:tenant@domain", tags optional
  std::uint32_t index = 0;       // the name's index (QueueNames)
  std::uint64_t messages = 0;    // waiting (not counting those being sent right now)
  std::uint64_t recipients = 0;  // theirs pending in the queue's domain
  std::int64_t oldest_us = 0;    // earliest reception among them
  std::int64_t next_due_us = 0;  // earliest due time among them
  bool suspended = false;
};
struct HeldView {
  std::string target;
  std::int64_t until_us = 0;  // 0: until resumed
};

class Manager {
 public:
  Manager(const Clock& clock, ManagerOptions opts, spool::Spool& spool, events::Bus& bus);

  QueueNames& names() { return names_; }
  const QueueNames& names() const { return names_; }
  void SetDownstream(Downstream* d) { downstream_ = d; }
  void SetReportSink(ReportSink* r) { reports_ = r; }
  // Classifies the replies of failed attempts for their events (null: none).
  void SetClassifier(std::shared_ptr<const bounce::Classifier> c) { classifier_ = std::move(c); }
  // Called when an item may come due earlier than the last NextWake() said.
  void SetWake(std::function<void()> wake) { wake_ = std::move(wake); }

  // A newly stored message.
  void Submit(spool::Meta meta);
  // A message found in the spool at start-up: keeps only its work items.
  void Restore(const spool::Meta& meta);
  // Operator suspensions kept over a restart.
  void LoadSuspensions();

  // The next due item whose queue no operator suspends (those are held).
  std::optional<WorkItem> PopDue();
  // When PopDue() may next return an item (a due time or a suspension's end).
  Clock::Wall::time_point NextWake();
  // Puts an item back, due at `due`, with no attempt counted.
  void Reschedule(WorkItem w, Clock::Wall::time_point due);
  // Whether an operator target covers the queue; Hold() keeps the item until
  // it does not.
  bool Suspended(std::uint32_t queue) const;
  void Hold(const WorkItem& w);
  // A ready queue full: the item waits here, by domain, for room (Unpark).
  void Park(std::uint32_t domain, const WorkItem& w);
  std::vector<WorkItem> Unpark(std::uint32_t domain, std::size_t max);
  std::size_t parked(std::uint32_t domain) const;

  // The message of an item, read from the spool if need be, with a use
  // counted; null if it is gone (finished meanwhile), or unreadable (then
  // the item is rescheduled, if `requeue`). Release() when done with it.
  MessageState* Acquire(const WorkItem& w, bool requeue = true);
  // The same, with the metadata read elsewhere (off this thread): call
  // BeginRead(id) before the read. A write of the message meanwhile makes
  // what was read stale; it is then read again here.
  bool InMemory(const SpoolId& id) const { return messages_.count(id) != 0; }
  void BeginRead(const SpoolId& id) { ++reads_[id].count; }
  MessageState* AcquireRead(const WorkItem& w, Result<spool::Meta, spool::SpoolError> read);
  void Release(MessageState& m);
  // Drops the cached metadata of a message no one uses.
  void Evict(const SpoolId& id);
  // Recipients of `m` in the item's domain still without a final outcome.
  std::vector<std::uint32_t> PendingFor(const MessageState& m, std::uint32_t queue) const;
  // The queue of a message's mail to `domain` (its tenant and campaign's).
  std::uint32_t QueueOf(const spool::Meta& meta, const std::string& domain);

  // Outcomes. One recipient's (an event; a report if it asked for one).
  // `retry`: the path's retry settings (for the delay report's horizon).
  void Record(events::OutcomeType type, MessageState& m, std::uint32_t rcpt, const WorkItem& w,
              const ReplyView& r, const AttemptInfo* at, const RetryPolicy& retry);
  // After an attempt: `pending` recipients are retried after a back-off, or
  // expire (4.4.7) past max_age; reports go out; the outcome is persisted.
  void Finish(MessageState& m, WorkItem w, std::vector<std::uint32_t> pending,
              const RetryPolicy& retry);
  // The same reply for every pending recipient of the item (connection or
  // DNS failure): 5xx bounces, 4xx retries.
  void Fail(const WorkItem& w, const ReplyView& r, const AttemptInfo* at, const RetryPolicy& retry);
  // An item that may not go before `until` (warm-up caps): rescheduled then,
  // or expired now if its message is too old by then.
  void WaitOrExpire(const WorkItem& w, Clock::Wall::time_point until, const RetryPolicy& retry);
  const RetryPolicy& retry() const { return opts_.retry; }

  // Operator actions. A target is a filter in queue-name form
  // (QueueNames::Covers): "example.com", "acme@example.com", "spring:acme@*".
  std::vector<QueueView> Queues() const;
  // Messages with a recipient not final yet.
  std::uint64_t queued_messages() const { return queued_messages_; }
  std::vector<HeldView> HeldTargets() const;
  // Makes deferred mail of `target` (all, if empty) due now; returns items.
  std::size_t Flush(const std::string& target);
  // Holds the target's mail until resumed or `how_long` has passed; mail
  // delivery holds is taken back and held too. Returns how many such items.
  std::size_t Suspend(const std::string& target, std::optional<std::chrono::milliseconds> how_long);
  std::size_t Resume(const std::string& target);
  // Gives up on the pending recipients of a target, or of the message with
  // that id: AdminBounce events, no report. Returns the number of recipients.
  std::size_t AdminBounce(const std::string& target_or_id);

  std::size_t scheduled() const { return scheduler_.size(); }
  std::size_t cached() const { return messages_.size(); }

 private:
  bool Enqueue(const spool::Meta& meta);
  MessageState* Adopt(const WorkItem& w, bool requeue,
                      Result<spool::Meta, spool::SpoolError>* read);
  void Add(const WorkItem& w);
  void EndSuspensions();
  std::size_t ReleaseHeld();
  void SaveSuspensions();
  void Persist(MessageState& m);
  void SendReports(MessageState& m);
  void Report(MessageState& m, bounce::ReportAction action,
              std::vector<bounce::ReportedRecipient>& recipients);
  // A report has read its original: the last one lets a final message go.
  void ReportRead(const SpoolId& id);
  std::size_t BounceItem(const WorkItem& w, bool whole_message);
  // Matching items out of the schedule, the holds, the parked lists and delivery.
  std::vector<WorkItem> TakeItems(const std::function<bool(const WorkItem&)>& match);

  const Clock& clock_;
  ManagerOptions opts_;
  spool::Spool& spool_;
  events::Bus& bus_;
  Downstream* downstream_ = nullptr;
  ReportSink* reports_ = nullptr;
  std::shared_ptr<const bounce::Classifier> classifier_;
  std::function<void()> wake_;
  QueueNames names_;
  Scheduler scheduler_;
  std::map<SpoolId, MessageState> messages_;
  std::uint64_t queued_messages_ = 0;
  // Operator suspensions: target -> end (time_point::max(): until resumed).
  std::map<std::uint32_t, Clock::Wall::time_point> suspended_;
  std::map<std::uint32_t, std::vector<WorkItem>> held_;   // by queue: due, but suspended
  std::map<std::uint32_t, std::deque<WorkItem>> parked_;  // by domain: waiting for room
  std::mt19937 rng_;
  struct Read {
    std::uint32_t count = 0;
    bool stale = false;
  };
  std::map<SpoolId, Read> reads_;  // metadata reads in flight elsewhere
  // Messages whose reports have not read them yet: removed after (if final).
  struct Removal {
    std::uint32_t reports = 0;
    bool final = false;
    std::uint64_t size = 0;
  };
  std::map<SpoolId, Removal> removals_;
};

}  // namespace sluice::queue
