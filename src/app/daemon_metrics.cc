#include "app/daemon_metrics.h"

#include <map>
#include <string>

#include "core/clock.h"

namespace sluice::app {
namespace {

using metrics::kCountBuckets;
using metrics::kDurationBuckets;
using metrics::kLatencyBuckets;
using metrics::kQueueTimeBuckets;
using metrics::kSizeBuckets;

const char* Label(events::OutcomeType t) {
  switch (t) {
    case events::OutcomeType::kDelivery:
      return "delivery";
    case events::OutcomeType::kTransientFailure:
      return "transient_failure";
    case events::OutcomeType::kBounce:
      return "bounce";
    case events::OutcomeType::kExpiration:
      return "expiration";
    case events::OutcomeType::kAdminBounce:
      return "admin_bounce";
  }
  return "other";
}

const char* Label(events::FeedbackType t) {
  switch (t) {
    case events::FeedbackType::kAsyncBounce:
      return "async_bounce";
    case events::FeedbackType::kComplaint:
      return "complaint";
    case events::FeedbackType::kUnsubscribe:
      return "unsubscribe";
  }
  return "other";
}

std::string_view ProviderOf(const std::string& provider) {
  return provider.empty() ? std::string_view("other") : std::string_view(provider);
}

double Seconds(std::chrono::system_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

DaemonMetrics::DaemonMetrics(metrics::RegistryOptions opts)
    : registry_(opts),
      receptions_(registry_.AddCounter(
          "sluice_receptions_total",
          "Messages accepted, and commands refused (reason: phase:status, e.g. rcpt:5.7.1), by "
          "listener.",
          {"listener", "result", "reason"})),
      outcomes_(registry_.AddCounter(
          "sluice_delivery_outcomes_total",
          "Delivery outcomes per recipient: delivery, transient_failure, bounce, expiration, "
          "admin_bounce.",
          {"outcome", "provider", "source", "tenant", "campaign"})),
      failure_classes_(registry_.AddCounter(
          "sluice_failure_classes_total",
          "Failed delivery outcomes by the bounce class the classifier gave the reply.",
          {"outcome", "class"})),
      feedback_(registry_.AddCounter(
          "sluice_feedback_total",
          "Feedback about mail sent: async_bounce, complaint, unsubscribe, by how it came.",
          {"type", "via", "tenant"})),
      suppressed_(registry_.AddCounter(
          "sluice_suppressed_total",
          "Recipients kept from mail by a suppression entry: refused (told) or dropped.",
          {"tenant", "reason", "action"})),
      automation_(registry_.AddCounter("sluice_automation_actions_total",
                                       "Shaping actions taken on replies, by rule and action.",
                                       {"rule", "action"})),
      health_changes_(registry_.AddCounter(
          "sluice_health_changes_total",
          "Scheduled DNS checks of sending domains whose result changed, by the new status.",
          {"status"})),
      blocklist_changes_(registry_.AddCounter(
          "sluice_blocklist_changes_total",
          "Listings (listed=\"true\") and delistings of egress addresses and sending domains, "
          "by blocklist.",
          {"list", "listed"})),
      dmarc_messages_(registry_.AddCounter(
          "sluice_dmarc_messages_total",
          "Messages DMARC aggregate reports counted, by domain, source (own: one of our egress "
          "addresses) and DMARC result (pass, fail).",
          {"domain", "source", "result"})),
      connections_(registry_.AddCounter(
          "sluice_outbound_connections_total",
          "Outbound connection attempts by provider, egress source and result (opened, failed).",
          {"provider", "source", "result"})),
      tls_(registry_.AddCounter(
          "sluice_outbound_tls_total",
          "Outbound connections opened, by provider, TLS version (none: plaintext) and the TLS "
          "policy they were made under.",
          {"provider", "version", "policy"})),
      tls_failures_(registry_.AddCounter(
          "sluice_outbound_tls_failures_total",
          "Outbound TLS policy failures by provider, policy and RFC 8460 result type (those of "
          "policies in testing mode included: the mail went anyway).",
          {"provider", "policy", "result"})),
      dkim_(registry_.AddCounter("sluice_dkim_signatures_total",
                                 "DKIM signatures by algorithm and result (signed, failed).",
                                 {"algorithm", "result"})),
      accept_seconds_(registry_.AddHistogram(
          "sluice_reception_seconds",
          "From the end of a message's data to the answer (spool sync included), by listener.",
          {"listener"}, kLatencyBuckets)),
      message_bytes_(registry_.AddHistogram("sluice_message_size_bytes",
                                            "Size of messages accepted, by listener.", {"listener"},
                                            kSizeBuckets)),
      spool_sync_seconds_(registry_.AddHistogram("sluice_spool_sync_seconds",
                                                 "Duration of each synced spool write.", {},
                                                 kLatencyBuckets)),
      spool_sync_batch_(registry_.AddHistogram("sluice_spool_sync_batch_size",
                                               "Messages stored by each synced spool write.", {},
                                               kCountBuckets)),
      attempt_seconds_(registry_.AddHistogram(
          "sluice_delivery_attempt_seconds",
          "Duration of each outbound transaction (one message to one site), by provider.",
          {"provider"}, kDurationBuckets)),
      delivery_latency_(
          registry_.AddHistogram("sluice_delivery_latency_seconds",
                                 "From reception to delivery, per recipient, by provider.",
                                 {"provider"}, kQueueTimeBuckets)),
      queued_(registry_.AddSnapshotGauges(
          "sluice_queued_items",
          "Queued mail by tenant and provider: one item per message and destination domain.",
          {"tenant", "provider"})),
      queued_recipients_(registry_.AddSnapshotGauges(
          "sluice_queued_recipients", "Recipients queued, not final yet, by tenant and provider.",
          {"tenant", "provider"})),
      queued_messages_(registry_.AddSnapshotGauges(
          "sluice_queued_messages", "Messages queued with a recipient not final yet.", {})),
      oldest_age_(registry_.AddSnapshotGauges("sluice_queue_oldest_age_seconds",
                                              "Age of the oldest message still queued.", {})),
      ready_(registry_.AddSnapshotGauges(
          "sluice_ready_queue_items",
          "Items in the ready queues (routed, waiting for a connection), by provider.",
          {"provider"})),
      outbound_(registry_.AddSnapshotGauges(
          "sluice_outbound_connections", "Open outbound connections by provider.", {"provider"})),
      suspended_paths_(registry_.AddSnapshotGauges(
          "sluice_suspended_paths",
          "Paths (egress source to site) suspended by a rule or the back-off.", {})),
      warmup_day_(registry_.AddSnapshotGauges(
          "sluice_warmup_day", "Warm-up day of each egress source with a schedule.", {"source"})),
      warmup_sent_(registry_.AddSnapshotGauges(
          "sluice_warmup_sent_today",
          "Messages sent today by each warming egress source, by provider.",
          {"source", "provider"})),
      webhook_posts_(registry_.AddCounter(
          "sluice_webhook_posts_total",
          "Webhook POSTs by webhook and result (2xx, 4xx, 5xx, error: no answer).",
          {"webhook", "result"})),
      webhook_events_(registry_.AddCounter(
          "sluice_webhook_events_total",
          "Records acknowledged by webhook receivers (sent), or given up past max_age (dropped).",
          {"webhook", "result"})),
      webhook_post_seconds_(registry_.AddHistogram("sluice_webhook_post_seconds",
                                                   "Duration of each webhook POST.", {"webhook"},
                                                   kDurationBuckets)) {
  auto read = [this](auto field) {
    return [this, field] {
      const auto& f = readers_.*field;
      return f ? f() : 0.0;
    };
  };
  registry_.AddCallbackGauge("sluice_inbound_connections", "Open inbound SMTP connections.",
                             read(&Readers::inbound_connections));
  registry_.AddCallbackGauge("sluice_spool_disk_bytes", "Size of the spool's files on disk.",
                             read(&Readers::spool_bytes));
  registry_.AddCallbackGauge("sluice_spool_free_disk_bytes",
                             "Free space on the spool's file system.",
                             read(&Readers::free_disk_bytes));
  registry_.AddCallbackGauges("sluice_webhook_pending_events",
                              "Records in a webhook's outbox not yet acknowledged.", {"webhook"},
                              [this](metrics::SnapshotGauges::Samples& s) {
                                if (readers_.webhooks) {
                                  for (const auto& w : readers_.webhooks()) {
                                    s.push_back({{w.name}, static_cast<double>(w.pending)});
                                  }
                                }
                              });
  registry_.AddCallbackGauges(
      "sluice_health_check_status",
      "The latest result of each scheduled DNS check of a sending domain: 0 pass (or info), 1 "
      "warn, 2 fail.",
      {"domain", "check"}, [this](metrics::SnapshotGauges::Samples& s) {
        if (readers_.health) {
          for (const auto& d : readers_.health()) {
            for (const auto& c : d.checks) {
              const auto st = c.check.status;
              s.push_back({{d.domain, c.check.name},
                           st == doctor::Status::kFail   ? 2.0
                           : st == doctor::Status::kWarn ? 1.0
                                                         : 0.0});
            }
          }
        }
      });
  registry_.AddCallbackGauges(
      "sluice_blocklist_listed",
      "Whether a blocklist lists an egress address or sending domain (1) or not (0), as last "
      "seen; absent until a list has answered.",
      {"list", "subject"}, [this](metrics::SnapshotGauges::Samples& s) {
        if (readers_.blocklists) {
          for (const auto& l : readers_.blocklists()) {
            if (l.status != monitor::Listing::Status::kUnknown) {
              s.push_back(
                  {{l.list, l.subject}, l.status == monitor::Listing::Status::kListed ? 1.0 : 0.0});
            }
          }
        }
      });
  registry_.AddCallbackCounter(
      "sluice_event_log_records_total", "Records written to the event log.", [this] {
        return readers_.event_log ? static_cast<double>(readers_.event_log().written) : 0.0;
      });
  registry_.AddCallbackCounter(
      "sluice_event_log_dropped_total",
      "Records the event log could not write (disk full, I/O error) and dropped.", [this] {
        return readers_.event_log ? static_cast<double>(readers_.event_log().failed) : 0.0;
      });
}

void DaemonMetrics::SetReaders(Readers r) {
  readers_ = std::move(r);
}

ingest::Metrics DaemonMetrics::ForIngest() {
  return {.accept_seconds = &accept_seconds_, .dkim_signatures = &dkim_};
}

delivery::Metrics DaemonMetrics::ForDelivery() {
  return {.connections = &connections_,
          .tls = &tls_,
          .tls_failures = &tls_failures_,
          .attempt_seconds = &attempt_seconds_};
}

webhook::Metrics DaemonMetrics::ForWebhooks() {
  return {
      .posts = &webhook_posts_, .events = &webhook_events_, .post_seconds = &webhook_post_seconds_};
}

void DaemonMetrics::Refused(std::string_view listener, std::string_view phase,
                            const smtp::Reply& r) {
  std::string reason(phase);
  reason += ':';
  reason += r.enhanced.empty() ? std::to_string(r.code) : r.enhanced;
  receptions_.With({listener, "refused", reason}).Inc();
}

void DaemonMetrics::ReadDelivery(const queue::Manager& queue,
                                 const delivery::Dispatcher& dispatcher,
                                 const shaping::Shaper& shaper,
                                 std::chrono::system_clock::time_point now) {
  // Items and recipients by tenant and provider.
  std::map<std::pair<std::string, std::string>, std::pair<double, double>> by_tenant;
  std::int64_t oldest_us = 0;
  const auto& names = queue.names();
  for (const auto& q : queue.Queues()) {
    auto& n = by_tenant[{names.Tenant(q.index),
                         std::string(dispatcher.ProviderOf(names.Domain(q.index)))}];
    n.first += static_cast<double>(q.messages);
    n.second += static_cast<double>(q.recipients);
    if (q.messages > 0 && (oldest_us == 0 || q.oldest_us < oldest_us)) {
      oldest_us = q.oldest_us;
    }
  }
  metrics::SnapshotGauges::Samples s;
  metrics::SnapshotGauges::Samples rcpts;
  for (const auto& [key, n] : by_tenant) {
    s.push_back({{key.first, key.second}, n.first});
    rcpts.push_back({{key.first, key.second}, n.second});
  }
  queued_.Replace(s);
  queued_recipients_.Replace(rcpts);
  queued_messages_.Replace({{{}, static_cast<double>(queue.queued_messages())}});
  const double age = oldest_us == 0 ? 0 : std::max(0.0, Seconds(now - FromMicros(oldest_us)));
  oldest_age_.Replace({{{}, age}});

  const auto g = dispatcher.ReadGauges();
  s.clear();
  for (const auto& [provider, n] : g.ready) {
    s.push_back({{provider}, static_cast<double>(n)});
  }
  ready_.Replace(s);
  s.clear();
  for (const auto& [provider, n] : g.connections) {
    s.push_back({{provider}, static_cast<double>(n)});
  }
  outbound_.Replace(s);
  suspended_paths_.Replace({{{}, static_cast<double>(g.suspended_paths)}});

  metrics::SnapshotGauges::Samples days;
  s.clear();
  for (const auto& st : shaper.WarmupStatus()) {
    days.push_back({{st.source}, static_cast<double>(st.day)});
    for (const auto& [provider, n] : st.counts) {
      s.push_back({{st.source, provider}, static_cast<double>(n)});
    }
  }
  warmup_day_.Replace(days);
  warmup_sent_.Replace(s);
}

void DaemonMetrics::OnReception(const events::Reception& e) {
  receptions_.With({e.listener, "accepted", ""}).Inc();
  message_bytes_.With({e.listener}).Observe(static_cast<double>(e.size));
}

void DaemonMetrics::OnOutcome(const events::Outcome& e) {
  const std::string_view provider = ProviderOf(e.provider);
  outcomes_.With({Label(e.type), provider, e.egress_source, e.tenant, e.campaign}).Inc();
  if (e.type == events::OutcomeType::kDelivery) {
    const auto from = std::max(e.received, std::chrono::system_clock::time_point{});
    delivery_latency_.With({provider}).Observe(std::max(0.0, Seconds(e.timestamp - from)));
  } else if (e.type != events::OutcomeType::kAdminBounce) {
    failure_classes_
        .With({Label(e.type),
               e.bounce_class.empty() ? std::string_view("unclassified") : e.bounce_class})
        .Inc();
  }
}

void DaemonMetrics::OnFeedback(const events::Feedback& e) {
  feedback_.With({Label(e.type), e.via, e.tenant}).Inc();
}

void DaemonMetrics::OnSuppressed(const events::Suppressed& e) {
  suppressed_.With({e.tenant, e.reason, e.refused ? "refused" : "dropped"}).Inc();
}

void DaemonMetrics::OnAutomation(const events::Automation& e) {
  automation_.With({e.rule, e.action}).Inc();
}

void DaemonMetrics::OnHealthChanged(const events::HealthChanged& e) {
  health_changes_.With({e.status}).Inc();
}

void DaemonMetrics::DmarcReport(const dmarc::AggregateReport& r, const std::set<std::string>& own,
                                const std::set<std::string>& domains) {
  const std::string domain = domains.count(r.domain) != 0 ? r.domain : "other";
  for (const auto& row : r.rows) {
    dmarc_messages_
        .With({domain, own.count(row.source_ip) != 0 ? "own" : "other",
               row.Passed() ? "pass" : "fail"})
        .Inc(static_cast<double>(row.count));
  }
}

void DaemonMetrics::DmarcSeries(const std::set<std::string>& domains) {
  for (const auto& d : domains) {
    for (const char* source : {"own", "other"}) {
      for (const char* result : {"pass", "fail"}) {
        dmarc_messages_.With({d, source, result});
      }
    }
  }
}

void DaemonMetrics::OnBlocklistChanged(const events::BlocklistChanged& e) {
  blocklist_changes_.With({e.list, e.listed ? "true" : "false"}).Inc();
}

}  // namespace sluice::app
