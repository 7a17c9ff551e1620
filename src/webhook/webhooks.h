#pragma once
// Security: POSTs event records (addresses, replies, metadata; never message
//           content) to configured URLs, signed with each webhook's secret.
// Standards: Standard Webhooks 1.0 (signature.h); RFC 9110 (2xx acknowledges).
//
// The webhooks: every record the bus writes goes, for each webhook whose
// tenant and event types it matches, to the outbox (outbox.h) at once, on the
// publishing thread; the webhook's sender (its own coroutine on the webhooks'
// thread) reads it back in batches and POSTs them:
//
//   {"webhook": NAME, "events": [RECORD, ...]}   (each RECORD with an "event_id")
//
// A batch goes when it has max_events records or its oldest has waited
// max_wait. A 2xx acknowledges the whole batch; anything else (or no answer
// within the timeout) is retried with exponential back-off and jitter, the
// same batch again, until its oldest record is older than max_age: then those
// records are dropped, with a WebhookDropped record and a count. Delivery is
// at least once: a crash before the acknowledgement is recorded sends the
// batch again (receivers deduplicate by event_id). A slow or dead receiver
// holds up only its own webhook: the outbox is on disk, a batch in memory.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "core/clock.h"
#include "core/result.h"
#include "events/events.h"
#include "metrics/fwd.h"
#include "webhook/outbox.h"

namespace sluice::webhook {

struct WebhookOptions {
  std::string name;
  std::string url;
  std::string tenant;            // "": every tenant's records, and those of none
  std::set<std::string> events;  // record types ("Delivery", "Bounce", ...); empty: all
  std::string key;               // signing key (ParseSecret of the configured secret)
  std::size_t max_events = 100;  // records per POST
  std::size_t max_bytes = 4u << 20;
  std::chrono::milliseconds max_wait{1000};
  std::chrono::milliseconds max_age = std::chrono::hours(24);
  std::chrono::milliseconds timeout{30000};  // one POST, connecting included
  std::chrono::milliseconds first_retry{1000};
  std::chrono::milliseconds max_retry = std::chrono::minutes(5);
  std::string ca_file;  // PEM trust anchors for https; "": the system's
};

struct Options {
  std::string outbox_path = "var/webhooks";
  std::vector<WebhookOptions> webhooks;
};

// Where the webhooks record what they do (each may be null).
struct Metrics {
  metrics::Family<metrics::Counter>* posts = nullptr;   // {webhook, result}: 2xx, 4xx, 5xx, error
  metrics::Family<metrics::Counter>* events = nullptr;  // {webhook, result}: sent, dropped
  metrics::Family<metrics::Histogram>* post_seconds = nullptr;  // {webhook}
};

struct WebhookStatus {
  std::string name;
  std::string url;
  std::string tenant;
  std::uint64_t pending = 0;
  std::int64_t oldest_us = 0;  // the oldest waiting record's time; 0: none
  std::uint64_t posts_ok = 0;
  std::uint64_t posts_failed = 0;
  std::uint64_t events_sent = 0;
  std::uint64_t events_dropped = 0;
  unsigned last_status = 0;
  std::string last_error;
  std::int64_t last_success_us = 0;
};

struct TestResult {
  unsigned status = 0;  // 0: no answer
  std::string error;
  std::string body;
};

class Webhooks final : public events::RecordTap {
 public:
  // Opens the outbox; checks every URL (https, or http to loopback) and CA file.
  static Result<std::unique_ptr<Webhooks>, std::string> Create(Options opts, events::Bus& bus,
                                                               const Clock& clock);
  ~Webhooks() override;

  void SetMetrics(Metrics m) { metrics_ = m; }
  // Senders run on a thread of their own from Start() to Stop(); what was
  // not acknowledged stays in the outbox for the next start.
  void Start();
  void Stop();
  boost::asio::io_context& context() { return ioc_; }
  std::size_t size() const { return hooks_.size(); }

  // events::RecordTap
  void OnRecord(std::string_view type, std::string_view tenant, const std::string& json) override;

  std::vector<WebhookStatus> Status() const;
  // POSTs one {"type": "Test"} record to the named webhook now, past the
  // outbox; run on context().
  static boost::asio::awaitable<Result<TestResult, std::string>> Test(Webhooks* self,
                                                                      std::string name);
  // Puts the records of `event_log` (JSON lines) written at or after `since`
  // that the named webhook takes into its outbox again; how many. Reads the
  // file: run off the reactor threads.
  Result<std::uint64_t, std::string> Replay(const std::string& name,
                                            std::chrono::system_clock::time_point since,
                                            const std::string& event_log);

 private:
  struct Hook;
  Webhooks(Options opts, events::Bus& bus, const Clock& clock);
  Hook* Find(const std::string& name) const;
  bool Takes(const Hook& h, std::string_view type, std::string_view tenant) const;
  std::string WithEventId(const std::string& json);
  static boost::asio::awaitable<void> Run(Webhooks* self, Hook* h);
  static boost::asio::awaitable<void> SyncLoop(Webhooks* self);
  boost::asio::awaitable<bool> Send(Hook& h, const std::vector<OutboxRecord>& batch);
  void Drop(Hook& h, const std::vector<OutboxRecord>& batch, std::int64_t cutoff_us);

  Options opts_;
  events::Bus& bus_;
  const Clock& clock_;
  Metrics metrics_;
  std::unique_ptr<Outbox> outbox_;
  std::vector<std::unique_ptr<Hook>> hooks_;
  std::string nonce_;  // this run's prefix of event ids
  std::atomic<std::uint64_t> next_event_{0};
  boost::asio::io_context ioc_{1};
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

}  // namespace sluice::webhook
