#pragma once
// The daemon's long-lived parts, built in order by sluiced.cc, and what acts
// on them once it runs: SIGHUP's reloads, the stop signals, the file
// descriptor budget, listener TLS and the metrics endpoint.

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "api/metrics_endpoint.h"
#include "app/bounce_counts.h"
#include "app/daemon_metrics.h"
#include "app/reputation_guard.h"
#include "app/settings.h"
#include "app/suppression_policy.h"
#include "auth/credentials.h"
#include "auth/failure_limiter.h"
#include "events/events.h"
#include "ingest/feedback.h"
#include "ingest/ingest.h"
#include "monitor/blocklist_monitor.h"
#include "monitor/health_monitor.h"
#include "smtp/server/server.h"
#include "spool/history_store.h"
#include "spool/rocks_spool.h"
#include "stats/recent.h"
#include "stats/recorder.h"
#include "stats/store.h"
#include "suppression/rocks_store.h"
#include "tls/tls.h"
#include "webhook/webhooks.h"

namespace sluice {
class Clock;
namespace api {
class HttpServer;
}
namespace delivery {
class Dispatcher;
}
namespace queue {
class Manager;
}
namespace shaping {
class Shaper;
}
}  // namespace sluice

namespace sluice::app {

struct Daemon {
  app::Settings settings;
  std::unique_ptr<app::DaemonMetrics> metrics;  // null: [metrics] enabled = false
  std::unique_ptr<spool::RocksSpool> spool;
  std::unique_ptr<spool::HistoryStore> history;  // outlives the bus that writes to it
  // The suppression lists and what adds to them, before the bus that tells it.
  std::unique_ptr<suppression::RocksStore> suppressions;
  std::unique_ptr<app::SuppressionRecorder> suppression_recorder;
  std::unique_ptr<app::ReputationGuard> reputation;
  app::BounceCounts bounce_counts;
  std::unique_ptr<webhook::Webhooks> webhooks;  // null: none configured
  // Counters over time and what counts the events into them; null: [stats] off.
  std::unique_ptr<stats::Store> stats;
  std::unique_ptr<stats::Recorder> stats_recorder;
  stats::Recent recent;  // the latest bounces and feedback, for the dashboard
  events::Bus bus;
  std::shared_ptr<auth::CredentialStore> credentials;
  std::vector<std::shared_ptr<tls::ServerContextHolder>> tls_holders;
  std::unique_ptr<auth::FailureLimiter> limiter;
  std::unique_ptr<ingest::FeedbackIntake> feedback;
  std::unique_ptr<ingest::Ingest> ingest;
  smtp::ServerContext server_ctx;
  delivery::Dispatcher* dispatcher = nullptr;
  queue::Manager* queue = nullptr;
  boost::asio::io_context* delivery_ctx = nullptr;
  // The sending domains' DNS on a schedule (sluiced.cc owns it: its timer
  // belongs to delivery_ctx); null: [health] off.
  monitor::HealthMonitor* health = nullptr;
  // The blocklist checks (sluiced.cc owns them, as above); null: off.
  monitor::BlocklistMonitor* blocklists = nullptr;
};

// Re-reads the shaping rules file and hands the rules to the dispatcher (on
// its own thread). Returns "" or what is wrong; the old rules stay then.
std::string ReloadShaping(Daemon& d);

// SIGHUP re-reads what can change under a running daemon; the first
// SIGTERM/SIGINT stops it gracefully (a second cuts the grace short).
boost::asio::awaitable<void> WaitForSignals(boost::asio::io_context& main,
                                            boost::asio::signal_set& signals, Daemon& d,
                                            smtp::Server& server, api::HttpServer& http);

// Every few seconds, reloads a listener's certificate and key when their
// files changed (a renewal), as SIGHUP would; runs until `main` stops.
boost::asio::awaitable<void> WatchCertificates(boost::asio::io_context& main, Daemon& d);

// RLIMIT_NOFILE: raised to the hard limit; what remains after the reserve is
// the inbound sessions' budget (ServerOptions::max_inbound_connections), so a
// flood of clients cannot take the descriptors the spool, the event log and
// outbound connections need.
bool BudgetDescriptors(Settings& st);

// A listener's TLS context (left null for tls = "none"), kept for SIGHUP
// reloads; false, having said why, if it cannot be made.
bool ListenerTls(Daemon& d, const std::string& what, TlsMode mode, tls::ServerOptions files,
                 std::shared_ptr<tls::ServerContextHolder>& out);

// GET /metrics: readers of the state kept elsewhere, and the delivery
// thread's gauges read on that thread.
std::unique_ptr<api::MetricsEndpoint> MakeMetricsEndpoint(Daemon& d, const shaping::Shaper* shaper,
                                                          const Clock& clock);

}  // namespace sluice::app
