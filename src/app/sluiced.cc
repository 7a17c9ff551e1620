// sluiced: the Sluice mail transfer agent daemon.
//
// Security: listens on the network for untrusted SMTP clients; holds TLS keys,
//           password hashes and the mail spool.
// Standards: see smtp/server/server.h for the SMTP RFCs implemented.
//
// Life cycle: load and check config -> open spool (recovery scan) -> bind
// listeners -> serve. SIGTERM/SIGINT: stop accepting, sessions answer
// 421 4.3.2 at their next command, queued spool writes finish, exit within
// server.shutdown_timeout. SIGHUP: reload TLS certificates and the users file,
// reopen the event log, without dropping connections.

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <random>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "api/admin.h"
#include "api/dmarc.h"
#include "api/domain_check.h"
#include "api/http_server.h"
#include "api/metrics_endpoint.h"
#include "api/stats.h"
#include "api/suppressions.h"
#include "api/tracking.h"
#include "api/unsubscribe.h"
#include "api/v1.h"
#include "app/bounce_counts.h"
#include "app/bounce_rules.h"
#include "app/daemon.h"
#include "app/daemon_metrics.h"
#include "app/dkim_publication.h"
#include "app/doctor_cmd.h"
#include "app/monitoring.h"
#include "app/secret_file.h"
#include "app/settings.h"
#include "app/shaping_file.h"
#include "auth/credentials.h"
#include "core/ascii.h"
#include "core/clock.h"
#include "core/disk_space.h"
#include "core/thread_name.h"
#include "events/events.h"
#include "ingest/ingest.h"
#include "ingest/reports.h"
#include "mtasts/policies.h"
#include "runtime/fd_limit.h"
#include "runtime/io_pool.h"
#include "runtime/malloc_tuning.h"
#include "smtp/server/server.h"
#include "spool/history_store.h"
#include "spool/rocks_spool.h"
#include "tlsrpt/reporter.h"
#include "webhook/http_post.h"

namespace asio = boost::asio;
using namespace sluice;
using app::Daemon;

namespace {

struct Args {
  std::string config;
  std::string check_config;
  std::string ready_file;
  bool print_default = false;
};

void Usage() {
  std::fprintf(stderr,
               "usage: sluiced [--config FILE] [--ready-file FILE]\n"
               "       sluiced --check-config FILE\n"
               "       sluiced --print-default-config\n");
}

bool ParseArgs(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto need = [&](std::string& into) {
      if (i + 1 >= argc) {
        return false;
      }
      into = argv[++i];
      return true;
    };
    if (k == "--config") {
      if (!need(a.config)) {
        return false;
      }
    } else if (k == "--check-config") {
      if (!need(a.check_config)) {
        return false;
      }
    } else if (k == "--ready-file") {
      if (!need(a.ready_file)) {
        return false;
      }
    } else if (k == "--print-default-config") {
      a.print_default = true;
    } else {
      return false;
    }
  }
  return true;
}

std::unique_ptr<config::Document> LoadDocument(const std::string& path) {
  if (path.empty()) {
    return config::Document::Parse(app::kDefaultConfig, "(embedded defaults)");
  }
  return config::Document::LoadFile(path);
}

bool WriteReadyFile(const std::string& path, const std::map<std::string, std::uint16_t>& ports) {
  std::string json = fmt::format("{{\"pid\": {}, \"listeners\": {{", getpid());
  bool first = true;
  for (const auto& [name, port] : ports) {
    json += fmt::format("{}\"{}\": {}", first ? "" : ", ", name, port);
    first = false;
  }
  json += "}}\n";
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json;
    if (!out) {
      return false;
    }
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

int Serve(const Args& args) {
  auto doc = LoadDocument(args.config);
  Daemon d;
  if (doc->errors().empty()) {
    d.settings = app::Bind(*doc);
  }
  if (!doc->errors().empty()) {
    std::fputs(doc->errors().ToString().c_str(), stderr);
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(d.settings.log_level));
  if (!app::BudgetDescriptors(d.settings)) {
    return 1;
  }
  if (!runtime::KeepLargeBuffersMapped()) {
    spdlog::warn("malloc: cannot fix the mmap threshold; freed message buffers may stay resident");
  }
  // The key of VERP addresses (and unsubscribe links): made on first start.
  auto secret = app::LoadOrCreateSecret(d.settings.verp_secret_file);
  if (!secret) {
    spdlog::critical("{}", secret.error());
    return 1;
  }
  d.settings.delivery.verp.secret = std::move(secret).value();
  d.settings.ingest.unsubscribe.secret = d.settings.delivery.verp.secret;
  d.settings.ingest.tracking.settings.secret = d.settings.delivery.verp.secret;
  const auto& st = d.settings;
  if (st.metrics.enabled) {
    d.metrics = std::make_unique<app::DaemonMetrics>(
        metrics::RegistryOptions{.max_label_values = st.metrics.max_label_values});
    d.bus.AddObserver(d.metrics.get());
    d.server_ctx.on_refused = [m = d.metrics.get()](std::string_view listener,
                                                    std::string_view phase, const smtp::Reply& r) {
      m->Refused(listener, phase, r);
    };
  }

  auto spool = spool::RocksSpool::Open(
      {.path = st.spool_path,
       .min_free_disk = st.spool_min_free_disk,
       .memtable_bytes = st.spool_memtable,
       .sync_seconds = d.metrics ? &d.metrics->spool_sync_seconds() : nullptr,
       .sync_batch = d.metrics ? &d.metrics->spool_sync_batch() : nullptr});
  if (!spool) {
    spdlog::critical("{}", spool.error());
    return 1;
  }
  d.spool = std::move(spool).value();
  std::error_code fsec;
  auto log_dir = std::filesystem::path(st.event_log).parent_path();
  if (!log_dir.empty()) {
    std::filesystem::create_directories(log_dir, fsec);
  }
  auto sink = events::JsonlFileSink::Open(st.event_log, st.event_log_options);
  if (!sink) {
    spdlog::critical("{}", sink.error());
    return 1;
  }
  d.bus.AddSink(std::move(sink).value());
  // Message history (when kept) and the API's idempotent answers.
  auto history =
      spool::HistoryStore::Open({.path = st.history_path, .retention = st.history_retention});
  if (!history) {
    spdlog::critical("{}", history.error());
    return 1;
  }
  d.history = std::move(history).value();
  if (st.history_retention.count() > 0) {
    d.bus.SetHistory(d.history.get());
  }
  auto suppressions = suppression::RocksStore::Open(st.suppression_store);
  if (!suppressions) {
    spdlog::critical("{}", suppressions.error());
    return 1;
  }
  d.suppressions = std::move(suppressions).value();
  d.suppression_recorder =
      std::make_unique<app::SuppressionRecorder>(st.suppression_policy, *d.suppressions);
  d.bus.AddObserver(d.suppression_recorder.get());
  if (!st.webhooks.webhooks.empty()) {
    auto w = webhook::Webhooks::Create(st.webhooks, d.bus, Clock::System());
    if (!w) {
      spdlog::critical("{}", w.error());
      return 1;
    }
    d.webhooks = std::move(w).value();
    d.bus.AddTap(d.webhooks.get());
    if (d.metrics) {
      d.webhooks->SetMetrics(d.metrics->ForWebhooks());
    }
    d.webhooks->Start();
  }
  d.bus.AddObserver(&d.bounce_counts);
  d.bus.AddObserver(&d.recent);
  if (st.stats.enabled) {
    auto stats = stats::Store::Open(st.stats.store);
    if (!stats) {
      spdlog::critical("{}", stats.error());
      return 1;
    }
    d.stats = std::move(stats).value();
    d.stats_recorder = std::make_unique<stats::Recorder>(*d.stats);
    d.bus.AddObserver(d.stats_recorder.get());
  }

  if (!st.users_file.empty()) {
    if (!std::filesystem::exists(st.users_file)) {
      spdlog::warn(
          "users file {} does not exist yet: no one can authenticate until it does "
          "(sluice user add NAME, then SIGHUP)",
          st.users_file);
      std::filesystem::create_directories(std::filesystem::path(st.users_file).parent_path().empty()
                                              ? std::filesystem::path(".")
                                              : std::filesystem::path(st.users_file).parent_path(),
                                          fsec);
      std::ofstream(st.users_file, std::ios::app);
    }
    auto creds = auth::CredentialStore::Load(st.users_file);
    if (!creds) {
      spdlog::critical("{}", creds.error());
      return 1;
    }
    d.credentials = std::move(creds).value();
  }
  d.limiter = std::make_unique<auth::FailureLimiter>(st.auth_limits);
  // Delivery runs on its own io_context and thread.
  auto delivery_ctx = std::make_unique<asio::io_context>(1);
  auto delivery_work = asio::make_work_guard(*delivery_ctx);
  std::unique_ptr<dns::UnboundResolver> resolver;
  if (st.delivery_enabled || !st.dkim.domains.empty()) {
    auto r = dns::UnboundResolver::Create(*delivery_ctx, st.dns);
    if (!r) {
      spdlog::critical("{}", r.error());
      return 1;
    }
    resolver = std::move(r).value();
  }
  // Blocking work (password hashing, signing, report building) and spool
  // reads for delivery, off the reactor threads.
  asio::thread_pool blocking(2);
  asio::thread_pool spool_reads(2);
  // Delivery's parts: the queue manager, the shaping state, the dispatcher.
  const Clock& clock = Clock::System();
  std::unique_ptr<queue::Manager> queue_manager;
  std::unique_ptr<shaping::Shaper> shaper;
  std::unique_ptr<delivery::Connector> connector;
  std::unique_ptr<mtasts::Fetcher> sts_fetcher;
  std::unique_ptr<mtasts::Policies> sts;
  std::unique_ptr<tlsrpt::Ledger> tls_ledger;  // RFC 8460 counts (outlives the dispatcher)
  std::unique_ptr<delivery::Dispatcher> dispatcher;
  ingest::Ingest::OnStored on_stored;
  if (st.delivery_enabled) {
    queue::ManagerOptions qo = st.queue;
    qo.seed = std::random_device{}();
    queue_manager = std::make_unique<queue::Manager>(clock, qo, *d.spool, d.bus);
    queue_manager->SetClassifier(st.bounce_classifier);
    shaper = std::make_unique<shaping::Shaper>(
        clock, shaping::ShaperOptions{st.delivery.failure_backoff, st.delivery.max_failure_backoff},
        st.delivery.egress.warmup);
    auto client_tls = tls::MakeClientContext(st.delivery_tls);
    if (!client_tls) {
      spdlog::critical("[delivery] {}", client_tls.error());
      return 1;
    }
    if (st.mta_sts) {
      sts_fetcher = mtasts::MakeHttpsFetcher(delivery_ctx->get_executor(), *resolver,
                                             client_tls.value(), {.port = st.mta_sts_port});
      sts = std::make_unique<mtasts::Policies>(clock, *resolver, *sts_fetcher, st.mta_sts_file);
      if (std::string error; !sts->Load(&error)) {
        spdlog::warn("MTA-STS: {}; starting without cached policies", error);
      }
    }
    if (st.tls_reports.enabled) {
      tls_ledger = std::make_unique<tlsrpt::Ledger>();
    }
    connector =
        delivery::MakeSmtpConnector(delivery_ctx->get_executor(), std::move(client_tls).value());
    dispatcher = std::make_unique<delivery::Dispatcher>(
        *delivery_ctx, st.delivery,
        delivery::Parts{clock, *queue_manager, *shaper, *resolver, *d.spool, d.bus, *connector,
                        &spool_reads, sts.get(),
                        d.metrics ? d.metrics->ForDelivery() : delivery::Metrics{},
                        tls_ledger.get()});
    on_stored = [p = dispatcher.get()](spool::Meta m) { p->Submit(std::move(m)); };
  }

  // Recovery: every spooled message goes back to its queue.
  auto started = std::chrono::steady_clock::now();
  auto recovered = d.spool->ForEachMeta([&](spool::Meta&& m) {
    if (queue_manager) {
      queue_manager->Restore(m);
    }
  });
  if (!recovered) {
    spdlog::critical("spool recovery scan failed: {}", spool::ToString(recovered.error()));
    return 1;
  }
  spdlog::info("spool {}: {} messages recovered in {} ms", st.spool_path, recovered.value(),
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count());
  std::unique_ptr<api::AdminServer> admin;
  if (!st.admin_socket.empty()) {
    std::optional<api::AdminServer::Parts> delivery_parts;
    if (dispatcher) {
      delivery_parts.emplace(api::AdminServer::Parts{*queue_manager, *dispatcher, *shaper});
    }
    auto a = api::AdminServer::Create(*delivery_ctx, st.admin_socket, std::move(delivery_parts));
    if (!a) {
      spdlog::critical("{}", a.error());
      return 1;
    }
    admin = std::move(a).value();
    if (!st.shaping_file.empty()) {
      admin->OnShapingReload([&d] { return app::ReloadShaping(d); });
    }
    admin->OnEventsStatus([&d] { return d.bus.stats(); });
    admin->OnBounceStatus([&d] { return d.bounce_counts.Json(); });
    admin->OnSpoolStatus([&d, &st] {
      return api::AdminServer::SpoolStatus{d.spool->stats(), d.spool->Admission(0).ok(),
                                           FreeDiskBytes(st.spool_path), st.spool_min_free_disk};
    });
  }
  std::unique_ptr<auth::ApiKeyStore> api_keys;
  if (!st.api_keys_file.empty()) {
    auto parent = std::filesystem::path(st.api_keys_file).parent_path();
    if (!parent.empty()) {
      std::filesystem::create_directories(parent, fsec);
    }
    auto k = auth::ApiKeyStore::Load(st.api_keys_file);
    if (!k) {
      spdlog::critical("{}", k.error());
      return 1;
    }
    api_keys = std::move(k).value();
    if (admin) {
      admin->SetApiKeys(api_keys.get());
    }
  }
  // The funnel every message takes, reports to senders included.
  dkim::KeyStore signer(st.dkim);
  d.ingest =
      std::make_unique<ingest::Ingest>(st.ingest, *d.spool, d.bus, on_stored, &signer, &blocking);
  d.ingest->SetSuppression(d.suppressions.get());
  if (d.metrics) {
    d.ingest->SetMetrics(d.metrics->ForIngest());
  }
  d.feedback = std::make_unique<ingest::FeedbackIntake>(
      ingest::FeedbackOptions{.secret = st.delivery.verp.secret,
                              .dmarc_addresses = st.dmarc.addresses,
                              .unparsed_maildir = st.feedback_unparsed_maildir},
      d.bus, st.history_retention.count() > 0 ? d.history.get() : nullptr, st.bounce_classifier);
  d.ingest->SetFeedback(d.feedback.get());
  // DMARC aggregate reports to the rua addresses, kept and summed.
  auto dmarc = app::MakeDmarc(st, d.metrics.get());
  if (!dmarc) {
    spdlog::critical("{}", dmarc.error());
    return 1;
  }
  std::optional<api::DmarcApi> dmarc_api;
  if (dmarc->intake) {
    d.feedback->SetDmarc(dmarc->intake.get());
    dmarc_api.emplace(*dmarc->store, app::OwnAddresses(st), blocking, clock);
  }
  if (admin && !st.server.feedback_domains.empty()) {
    admin->OnFeedbackStatus([&d] { return d.feedback->stats(); });
  }
  api::SuppressionApi suppression_api(*d.suppressions, blocking);
  api::UnsubscribeEndpoint unsubscribe(st.delivery.verp.secret, *d.suppressions, d.bus, blocking);
  api::StatsApi stats_api(d.stats.get(), d.recent, blocking, clock);
  // The dashboard's DNS check of the sending domains, through delivery's resolver.
  std::optional<api::DomainCheckApi> domain_check;
  if (resolver) {
    domain_check.emplace(
        [&st, &resolver, &sts_fetcher](std::string domain) {
          doctor::Options o = app::DoctorOptions(st, std::move(domain), {}, "");
          o.sts_fetcher = sts_fetcher.get();
          return doctor::Run(*resolver, std::move(o));
        },
        app::SendingDomains(st), *delivery_ctx, clock);
  }
  // (Owned here, after delivery_ctx: its timer must go before the context.)
  std::unique_ptr<monitor::HealthMonitor> health;
  if (resolver) {
    health = app::MakeHealthMonitor(st, *delivery_ctx, *resolver, sts_fetcher.get(), d.bus, clock);
    d.health = health.get();
  }
  std::unique_ptr<monitor::BlocklistMonitor> blocklists;
  if (resolver) {
    blocklists =
        app::MakeBlocklistMonitor(st, *delivery_ctx, *resolver, dispatcher.get(), d.bus, clock);
    d.blocklists = blocklists.get();
  }
  const api::TrackingEndpoint tracking_endpoint(st.delivery.verp.secret, d.bus,
                                                st.tracking_too_soon, clock);
  if (admin) {
    admin->SetSuppressions(&suppression_api);
    admin->SetWebhooks(d.webhooks.get(), st.event_log);
    admin->OnHealth([&d](bool lists) -> std::optional<std::string> {
      if (lists) {
        return d.blocklists ? std::optional(d.blocklists->Json()) : std::nullopt;
      }
      return d.health ? std::optional(d.health->book().Json()) : std::nullopt;
    });
  }
  std::unique_ptr<ingest::Reports> reports;
  if (queue_manager) {
    reports = std::make_unique<ingest::Reports>(*d.ingest, *d.spool, blocking.get_executor(),
                                                delivery_ctx->get_executor(),
                                                st.delivery.client.ehlo_name, clock);
    queue_manager->SetReportSink(reports.get());
  }
  std::unique_ptr<tlsrpt::Reporter> tls_reporter;
  if (tls_ledger) {
    auto https = webhook::MakeClientTls(st.delivery_tls.ca_file);
    if (!https) {
      spdlog::critical("[tls_reports] {}", https.error());
      return 1;
    }
    auto submit = [&d, ex = blocking.get_executor(), host = st.delivery.client.ehlo_name](
                      std::vector<std::string> rcpts, std::string message) {
      return ingest::SubmitOwnReport(*d.ingest, ex, host, std::move(rcpts), std::move(message));
    };
    tls_reporter = std::make_unique<tlsrpt::Reporter>(
        delivery_ctx->get_executor(), clock, *tls_ledger, *resolver, std::move(submit),
        std::move(https).value(), st.tls_reports.options, st.tls_reports.state_file);
    const std::string& from = st.tls_reports.options.from;
    const std::string from_domain = AsciiLower(from.substr(from.rfind('@') + 1));
    if (signer.Choose(from_domain, std::chrono::system_clock::now()).empty()) {
      spdlog::warn(
          "TLS reports: no [dkim] key signs mail from {}; receivers may ignore "
          "unsigned reports (RFC 8460 §5.3)",
          from_domain);
    }
    if (std::string error; !tls_reporter->Load(&error)) {
      spdlog::warn("TLS reports: {}; starting with no counts", error);
    }
    tls_reporter->Start();
    if (admin) {
      admin->SetTlsReports(tls_reporter.get());
    }
  }
  d.dispatcher = dispatcher.get();
  d.queue = queue_manager.get();
  d.delivery_ctx = delivery_ctx.get();
  // Rates over a window; a crossing suspends on the delivery thread.
  app::ReputationGuard::SuspendFn suspend;
  if (d.queue != nullptr) {
    suspend = [&d](const std::string& target, std::chrono::seconds how_long) {
      asio::post(*d.delivery_ctx, [q = d.queue, target, how_long] {
        q->Suspend(target, std::chrono::duration_cast<std::chrono::milliseconds>(how_long));
      });
    };
  }
  d.reputation = std::make_unique<app::ReputationGuard>(st.reputation, d.bus, std::move(suspend));
  d.bus.AddObserver(d.reputation.get());
  if (dispatcher) {
    dispatcher->Start();
  }
  std::thread delivery_thread([ctx = delivery_ctx.get()] {
    NameThisThread("delivery");
    ctx->run();
  });

  // DKIM: which selectors may sign is known before the first message arrives.
  std::unique_ptr<app::DkimPublication> publication;
  if (!signer.empty() && signer.options().require_published) {
    publication = std::make_unique<app::DkimPublication>(*delivery_ctx, *resolver, signer);
    auto checked = std::make_shared<std::promise<void>>();
    auto done = checked->get_future();
    asio::co_spawn(*delivery_ctx, app::DkimPublication::CheckAll(publication.get()),
                   [checked](std::exception_ptr) { checked->set_value(); });
    if (done.wait_for(std::chrono::seconds(15)) != std::future_status::ready) {
      spdlog::warn("dkim: publication check still running after 15 s; signing with what is known");
    }
    publication->Start();
  }
  if (d.health) {
    d.health->Start();  // after the key check: the first run sees what signs
  }
  if (d.blocklists) {
    d.blocklists->Start();
  }
  // A start-up failure below returns early: delivery must stop first (its
  // thread must not outlive what it uses, nor be left joinable).
  struct StopOnEarlyReturn {
    asio::io_context& ctx;
    std::thread& thread;
    ~StopOnEarlyReturn() {
      if (thread.joinable()) {
        ctx.stop();
        thread.join();
      }
    }
  } stop_delivery{*delivery_ctx, delivery_thread};

  runtime::IoPool pool(st.threads);
  d.server_ctx.options = st.server;
  d.server_ctx.sink = d.ingest.get();
  d.server_ctx.credentials = d.credentials;
  d.server_ctx.auth_limiter = d.limiter.get();
  d.server_ctx.blocking = &blocking;
  smtp::Server server(pool, d.server_ctx);
  for (const auto& l : st.listeners) {
    std::shared_ptr<tls::ServerContextHolder> holder;
    if (!app::ListenerTls(d, "listener " + l.smtp.name, l.tls, l.tls_files, holder)) {
      return 1;
    }
    if (auto r = server.AddListener(l.smtp, holder); !r) {
      spdlog::critical("{}", r.error());
      return 1;
    }
  }
  // The HTTP API: the same funnel, the operator's commands, the metrics.
  std::unique_ptr<api::MetricsEndpoint> metrics_endpoint;
  if (d.metrics) {
    metrics_endpoint = app::MakeMetricsEndpoint(d, shaper.get(), clock);
  }
  api::ApiV1 v1({.ingest = *d.ingest,
                 .clock = clock,
                 .keys = api_keys.get(),
                 .admin = dispatcher ? admin.get() : nullptr,
                 .admin_ctx = dispatcher ? delivery_ctx.get() : nullptr,
                 .spool = d.spool.get(),
                 .history = st.history_retention.count() > 0 ? d.history.get() : nullptr,
                 .journal = d.history.get(),
                 .blocking = &blocking,
                 .not_ready = [&d]() -> std::optional<std::string> {
                   if (!d.spool->Admission(0).ok()) {
                     return "the spool takes no mail now (disk floor or write failures)";
                   }
                   if (auto busy = d.ingest->CheckResources()) {
                     return busy->text;
                   }
                   return std::nullopt;
                 },
                 .suppressions = &suppression_api,
                 .domain_check = domain_check ? &*domain_check : nullptr,
                 .health_domains = d.health ? std::function<std::string()>(
                                                  [&d] { return d.health->book().Json(); })
                                            : nullptr,
                 .health_blocklists = d.blocklists ? std::function<std::string()>(
                                                         [&d] { return d.blocklists->Json(); })
                                                   : nullptr,
                 .dmarc = dmarc_api ? &*dmarc_api : nullptr,
                 .stats = &stats_api,
                 .unsubscribe = &unsubscribe,
                 .tracking = &tracking_endpoint,
                 .metrics = metrics_endpoint.get(),
                 .on_refused = d.server_ctx.on_refused});
  api::HttpServer http(pool, v1);
  for (const auto& l : st.http) {
    std::shared_ptr<tls::ServerContextHolder> holder;
    if (!app::ListenerTls(d, "http listener " + l.http.name, l.tls, l.tls_files, holder)) {
      return 1;
    }
    if (auto r = http.AddListener(l.http, holder); !r) {
      spdlog::critical("{}", r.error());
      return 1;
    }
  }
  auto ports = server.BoundPorts();
  ports.merge(http.BoundPorts());
  for (const auto& [name, port] : ports) {
    spdlog::info("listener {} on port {}", name, port);
  }

  asio::io_context main_ctx(1);
  // Lives until exit, so a late SIGTERM during the final sync is absorbed.
  asio::signal_set signals(main_ctx, SIGTERM, SIGINT, SIGHUP);
  asio::co_spawn(main_ctx, app::WaitForSignals(main_ctx, signals, d, server, http), asio::detached);
  asio::co_spawn(main_ctx, app::WatchCertificates(main_ctx, d), asio::detached);
  pool.Start();
  server.Start();
  http.Start();
  if (!args.ready_file.empty() && !WriteReadyFile(args.ready_file, ports)) {
    spdlog::critical("cannot write ready file {}", args.ready_file);
    return 1;
  }
  spdlog::info("sluiced ready ({} threads)", st.threads);
  main_ctx.run();

  pool.Stop();
  pool.Join();
  // Delivery stops mid-transaction if it must: at-least-once, the spool keeps the mail.
  delivery_work.reset();
  if (publication) {
    asio::post(*delivery_ctx, [p = publication.get()] { p->Stop(); });
  }
  if (d.health) {
    asio::post(*delivery_ctx, [h = d.health] { h->Stop(); });
  }
  if (d.blocklists) {
    asio::post(*delivery_ctx, [b = d.blocklists] { b->Stop(); });
  }
  delivery_ctx->stop();
  if (delivery_thread.joinable()) {
    delivery_thread.join();
  }
  // Reports and reads in flight finish (a report still being built is
  // lost; its message's outcome is recorded).
  blocking.join();
  spool_reads.join();
  if (tls_reporter) {
    tls_reporter->Stop();  // delivery has stopped: the counts are final
  }
  if (dispatcher) {
    dispatcher->SaveState();  // delivery has stopped: counts and suspensions are final
    auto stats = dispatcher->stats();
    spdlog::info("delivery: {} connections, {} transactions", stats.connections,
                 stats.transactions);
  }
  // Finishes queued writes. Their callbacks only post onto the stopped contexts,
  // which therefore still exist, as does the dispatcher.
  d.spool->Close();
  if (d.webhooks) {
    d.webhooks->Stop();  // every record published is in its outbox
  }
  admin.reset();        // its acceptor belongs to delivery_ctx
  publication.reset();  // its timer belongs to delivery_ctx
  d.health = nullptr;
  health.reset();  // its timer belongs to delivery_ctx
  d.blocklists = nullptr;
  blocklists.reset();    // its timer belongs to delivery_ctx
  resolver.reset();      // its descriptor belongs to delivery_ctx
  tls_reporter.reset();  // its timer belongs to delivery_ctx
  dispatcher.reset();    // its timers belong to delivery_ctx
  delivery_ctx.reset();  // destroys suspended delivery coroutines
  // Sessions still queued (past shutdown_timeout) die here, before `server`.
  server.ReleaseListeners();
  http.ReleaseListeners();
  pool.Destroy();
  auto stats = d.spool->stats();
  spdlog::info("stopped: {} messages stored with {} syncs", stats.stores, stats.syncs);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Diagnostics go to stderr; event records go to the event log.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("sluiced"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  Args args;
  if (!ParseArgs(argc, argv, args)) {
    Usage();
    return 2;
  }
  if (args.print_default) {
    std::fputs(app::kDefaultConfig, stdout);
    return 0;
  }
  if (!args.check_config.empty()) {
    auto doc = config::Document::LoadFile(args.check_config);
    if (doc->errors().empty()) {
      app::Bind(*doc);
    }
    if (!doc->errors().empty()) {
      std::fputs(doc->errors().ToString().c_str(), stderr);
      return 1;
    }
    std::printf("%s: ok\n", args.check_config.c_str());
    return 0;
  }
  return Serve(args);
}
