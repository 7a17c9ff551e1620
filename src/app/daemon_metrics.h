#pragma once
// The daemon's metrics: every family docs/metrics.md lists, made here in one
// place (the documentation test compares the two). Counters of what happened
// come from the event bus (this is an events::Observer) and from hooks the
// modules are given; gauges of state are read when scraped: the delivery
// thread's at its own pace (ReadDelivery), the rest by callbacks.

#include <chrono>
#include <functional>
#include <set>
#include <string_view>

#include "delivery/dispatcher.h"
#include "dmarc/aggregate.h"
#include "events/events.h"
#include "ingest/ingest.h"
#include "metrics/metrics.h"
#include "monitor/blocklist_monitor.h"
#include "monitor/health_book.h"
#include "queue/manager.h"
#include "shaping/shaper.h"
#include "smtp/proto/reply.h"
#include "webhook/webhooks.h"

namespace sluice::app {

class DaemonMetrics final : public events::Observer {
 public:
  explicit DaemonMetrics(metrics::RegistryOptions opts = {});

  metrics::Registry& registry() { return registry_; }
  ingest::Metrics ForIngest();
  delivery::Metrics ForDelivery();
  webhook::Metrics ForWebhooks();
  metrics::Histogram& spool_sync_seconds() { return spool_sync_seconds_.With({}); }
  metrics::Histogram& spool_sync_batch() { return spool_sync_batch_.With({}); }

  // A DMARC aggregate report stored: its messages by domain (a watched one,
  // else "other"), source (`own` egress address or not) and DMARC result.
  void DmarcReport(const dmarc::AggregateReport& r, const std::set<std::string>& own,
                   const std::set<std::string>& domains);
  // Makes those series at zero (an alert's increase() misses a counter's
  // first value).
  void DmarcSeries(const std::set<std::string>& domains);

  // smtp::ServerContext::on_refused.
  void Refused(std::string_view listener, std::string_view phase, const smtp::Reply& r);

  // The gauges of the delivery thread's state; called on that thread.
  void ReadDelivery(const queue::Manager& queue, const delivery::Dispatcher& dispatcher,
                    const shaping::Shaper& shaper, std::chrono::system_clock::time_point now);

  // What the daemon reads when scraped (each thread-safe, quick).
  struct Readers {
    std::function<double()> inbound_connections;
    std::function<double()> spool_bytes;
    std::function<double()> free_disk_bytes;
    std::function<events::SinkStats()> event_log;
    std::function<std::vector<webhook::WebhookStatus>()> webhooks;
    std::function<std::vector<monitor::DomainHealth>()> health;
    std::function<std::vector<monitor::Listing>()> blocklists;
  };
  void SetReaders(Readers r);

  // events::Observer
  void OnReception(const events::Reception& e) override;
  void OnOutcome(const events::Outcome& e) override;
  void OnFeedback(const events::Feedback& e) override;
  void OnSuppressed(const events::Suppressed& e) override;
  void OnAutomation(const events::Automation& e) override;
  void OnHealthChanged(const events::HealthChanged& e) override;
  void OnBlocklistChanged(const events::BlocklistChanged& e) override;

 private:
  metrics::Registry registry_;
  Readers readers_;
  metrics::Family<metrics::Counter>& receptions_;
  metrics::Family<metrics::Counter>& outcomes_;
  metrics::Family<metrics::Counter>& failure_classes_;
  metrics::Family<metrics::Counter>& feedback_;
  metrics::Family<metrics::Counter>& suppressed_;
  metrics::Family<metrics::Counter>& automation_;
  metrics::Family<metrics::Counter>& health_changes_;
  metrics::Family<metrics::Counter>& blocklist_changes_;
  metrics::Family<metrics::Counter>& dmarc_messages_;
  metrics::Family<metrics::Counter>& connections_;
  metrics::Family<metrics::Counter>& tls_;
  metrics::Family<metrics::Counter>& tls_failures_;
  metrics::Family<metrics::Counter>& dkim_;
  metrics::Family<metrics::Histogram>& accept_seconds_;
  metrics::Family<metrics::Histogram>& message_bytes_;
  metrics::Family<metrics::Histogram>& spool_sync_seconds_;
  metrics::Family<metrics::Histogram>& spool_sync_batch_;
  metrics::Family<metrics::Histogram>& attempt_seconds_;
  metrics::Family<metrics::Histogram>& delivery_latency_;
  metrics::SnapshotGauges& queued_;
  metrics::SnapshotGauges& queued_recipients_;
  metrics::SnapshotGauges& queued_messages_;
  metrics::SnapshotGauges& oldest_age_;
  metrics::SnapshotGauges& ready_;
  metrics::SnapshotGauges& outbound_;
  metrics::SnapshotGauges& suspended_paths_;
  metrics::SnapshotGauges& warmup_day_;
  metrics::SnapshotGauges& warmup_sent_;
  metrics::Family<metrics::Counter>& webhook_posts_;
  metrics::Family<metrics::Counter>& webhook_events_;
  metrics::Family<metrics::Histogram>& webhook_post_seconds_;
};

}  // namespace sluice::app
