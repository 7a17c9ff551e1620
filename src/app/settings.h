#pragma once
// Security: reads operator configuration only.
// Standards: TOML v1.0.
//
// Binds a configuration document onto each module's Options. The one place
// that knows both the config keys and the module structs; docs/config.md
// documents every key named here.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "api/http_server.h"
#include "app/reputation_guard.h"
#include "app/suppression_policy.h"
#include "auth/failure_limiter.h"
#include "bounce/classify.h"
#include "config/config.h"
#include "delivery/dispatcher.h"
#include "dkim/key_store.h"
#include "dmarc/store.h"
#include "dns/unbound_resolver.h"
#include "ingest/ingest.h"
#include "monitor/blocklist_monitor.h"
#include "monitor/health_monitor.h"
#include "smtp/server/options.h"
#include "stats/store.h"
#include "suppression/rocks_store.h"
#include "tls/peer.h"
#include "tls/tls.h"
#include "tlsrpt/reporter.h"
#include "webhook/webhooks.h"

namespace sluice::app {

enum class TlsMode { kNone, kSelfSigned, kFiles };

struct ListenerSettings {
  smtp::ListenerOptions smtp;
  TlsMode tls = TlsMode::kNone;
  tls::ServerOptions tls_files;
};

struct HttpListenerSettings {
  api::HttpListenerOptions http;
  TlsMode tls = TlsMode::kNone;
  tls::ServerOptions tls_files;
};

struct Settings {
  std::size_t threads = 2;
  std::chrono::milliseconds shutdown_timeout = std::chrono::seconds(10);
  std::string log_level = "info";
  // Descriptors kept back from inbound sessions for the spool (up to 256),
  // the message history (up to 64), the event log, DNS and outbound
  // connections; the rest of RLIMIT_NOFILE is the inbound budget.
  std::uint32_t reserved_descriptors = 512;
  smtp::ServerOptions server;
  std::vector<ListenerSettings> listeners;
  std::string spool_path = "var/spool";
  // Stores are refused (452 4.3.1) when they could leave less than this free;
  // the spool counts a message's size and what its write may set off.
  std::uint64_t spool_min_free_disk = 256ull << 20;
  std::uint64_t spool_memtable = 64ull << 20;  // RocksDB write buffer per column family
  ingest::Options ingest;
  std::string event_log = "var/events.jsonl";
  // [events] log_*: rotation by size or age, kept and compressed; a floor.
  events::LogOptions event_log_options{.max_bytes = 1ull << 30,
                                       .max_age = std::chrono::hours(24),
                                       .keep = 30,
                                       .compress = true,
                                       .min_free_disk = 64ull << 20};
  // Each message's events, for GET /api/v1/messages/{id}; retention 0: none kept.
  std::string history_path = "var/history";
  std::chrono::hours history_retention{7 * 24};
  // Bounce classification rules (etc/bounce.toml's form); "": the built-in ones.
  std::string bounce_rules;
  std::shared_ptr<const bounce::Classifier> bounce_classifier;  // loaded from them
  // [suppression]: where the lists are kept and which events add to them
  // (the refuse-or-drop choice is ingest.refuse_suppressed).
  // [bounce] verp_secret_file: the key of VERP addresses and unsubscribe
  // links, made on first start (the bounce domains are delivery.verp's).
  std::string verp_secret_file = "var/verp.key";
  // [bounce] unparsed_maildir: feedback that could not be read, kept.
  std::string feedback_unparsed_maildir = "var/feedback-unparsed";
  suppression::RocksOptions suppression_store;
  SuppressionPolicy suppression_policy;
  ReputationSettings reputation;  // [reputation]
  std::string users_file;
  auth::FailureLimiterOptions auth_limits;
  dns::UnboundOptions dns;
  std::string admin_socket = "var/admin.sock";
  bool delivery_enabled = true;
  delivery::Options delivery;
  tls::ClientContextOptions delivery_tls;  // [delivery] ca_file: whom `verify` trusts
  // [delivery] mta_sts: honour recipient domains' MTA-STS policies (RFC 8461),
  // fetched from mta_sts_port (443) and kept in mta_sts_file.
  bool mta_sts = true;
  std::uint16_t mta_sts_port = 443;
  std::string mta_sts_file;
  queue::ManagerOptions queue;  // [queue]
  dkim::Options dkim;
  std::string shaping_file;                    // [delivery] shaping: reloaded on SIGHUP
  std::string api_keys_file = "var/api-keys";  // [api] keys_file ("" : no keys)
  std::vector<HttpListenerSettings> http;      // [[http]]
  // [metrics]: GET /metrics on the HTTP listeners.
  struct Metrics {
    bool enabled = true;
    bool require_key = false;            // an operator's API key, as a bearer token
    std::size_t max_label_values = 500;  // distinct values of one label; the rest "other"
  } metrics;
  webhook::Options webhooks;  // [[webhook]], [events] webhook_outbox
  // [tracking]: opens and clicks (tracking/track.h); the secret is the VERP key.
  std::chrono::seconds tracking_too_soon{10};
  // [tls_reports]: RFC 8460 reports on outbound TLS to the domains that ask
  // for them, the counts kept in state_file (SPOOL/tls-reports.state).
  struct TlsReports {
    bool enabled = true;
    tlsrpt::ReporterOptions options;
    std::string state_file;
  } tls_reports;
  // [stats]: counters over time for GET /api/v1/stats (stats/store.h).
  struct Stats {
    bool enabled = true;
    stats::Store::Options store{.path = "var/stats"};
  } stats;
  // [health]: the sending domains' DNS checked on a schedule (monitor/).
  monitor::HealthOptions health;
  // [blocklists]: egress addresses and sending domains in DNSBLs (monitor/).
  monitor::BlocklistOptions blocklists;
  // [dmarc]: aggregate reports mailed to our rua addresses (dmarc/).
  struct Dmarc {
    std::vector<std::string> addresses;  // "local@domain", lower case
    dmarc::StoreOptions store;
    std::uint64_t max_daily_size = 256u << 20;  // report XML taken a day
  } dmarc;
};

// The configuration sluiced runs on when given no --config (also etc/sluiced.toml).
extern const char* const kDefaultConfig;

// Reads every setting; problems are recorded in doc.errors().
Settings Bind(const config::Document& doc);

// tls = "none" | "self-signed" | "files" (with tls_cert, tls_key) of a listener.
void BindTlsMode(const config::Section& s, const std::string& hostname, TlsMode& mode,
                 tls::ServerOptions& files);
// [[webhook]] (settings_webhooks.cc).
void BindWebhooks(const config::Section& root, Settings& st);
// [api], [[http]] and [metrics] (settings_http.cc).
void BindHttp(const config::Section& root, Settings& st);
// [delivery], [[route]] and [queue] (settings_delivery.cc), once [server] is bound.
void BindDelivery(const config::Section& root, const config::Document& doc, Settings& st);
// [tracking] (settings_reports.cc).
void BindTracking(const config::Section& root, Settings& st);
// A tenant's or campaign's track_opens and track_clicks (`who`: "tenant"
// or "tenant:campaign").
void BindTracking(const config::Section& s, const std::string& who, Settings& st);
// [stats] (settings_reports.cc).
void BindStats(const config::Section& root, Settings& st);
// [health] and [blocklists] (settings_monitor.cc).
void BindHealth(const config::Section& root, Settings& st);
void BindBlocklists(const config::Section& root, Settings& st);
// [dmarc] (settings_monitor.cc), before CollectFeedbackDomains.
void BindDmarc(const config::Section& root, Settings& st);
// [tls_reports] (settings_reports.cc), once [delivery] is bound.
void BindTlsReports(const config::Section& root, Settings& st);
// [bounce] and [suppression] (settings_feedback.cc).
void BindFeedback(const config::Section& root, Settings& st);
// The domains feedback comes to ([bounce] domain and the tenants'
// bounce_domain) into server.feedback_domains, once both are bound.
void CollectFeedbackDomains(const config::Section& root, Settings& st);

}  // namespace sluice::app
