#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "api/http_server.h"
#include "app/bounce_rules.h"
#include "app/daemon.h"
#include "app/shaping_file.h"
#include "core/clock.h"
#include "core/disk_space.h"
#include "delivery/dispatcher.h"
#include "queue/manager.h"
#include "runtime/fd_limit.h"

namespace sluice::app {

namespace asio = boost::asio;

namespace {

// Re-reads [bounce] rules and hands them to the queue manager (on the
// delivery thread); on an error the old rules stay.
void ReloadBounceRules(Daemon& d) {
  auto loaded = app::LoadBounceRules(d.settings.bounce_rules);
  if (!loaded) {
    spdlog::error("bounce rules not reloaded, keeping the old ones: {}", loaded.error());
    return;
  }
  std::shared_ptr<const bounce::Classifier> c = std::move(loaded).value();
  if (d.feedback) {
    d.feedback->SetClassifier(c);
  }
  asio::post(*d.delivery_ctx, [q = d.queue, c]() mutable { q->SetClassifier(std::move(c)); });
  spdlog::info("bounce rules reloaded from {}", d.settings.bounce_rules);
}

void Reload(Daemon& d) {
  spdlog::info("SIGHUP: reloading TLS certificates and credentials");
  for (auto& h : d.tls_holders) {
    if (auto r = h->Reload(); !r) {
      spdlog::error("TLS reload failed, keeping the old certificate: {}", r.error());
    }
  }
  if (d.credentials) {
    if (auto r = d.credentials->Reload(); !r) {
      spdlog::error("users reload failed, keeping the old users: {}", r.error());
    } else {
      spdlog::info("users file loaded: {} users", d.credentials->size());
    }
  }
  d.bus.Reopen();
  if (!d.settings.shaping_file.empty()) {
    ReloadShaping(d);
  }
  if (!d.settings.bounce_rules.empty() && d.queue != nullptr) {
    ReloadBounceRules(d);
  }
}

// After the first SIGTERM/SIGINT, a second one cuts the grace period short.
asio::awaitable<void> HurryOnSecondSignal(asio::signal_set& signals, bool& hurry) {
  while (true) {
    auto [ec, sig] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      co_return;
    }
    if (sig != SIGHUP) {
      spdlog::warn("second stop signal: closing sessions now");
      hurry = true;
    }
  }
}

}  // namespace

std::string ReloadShaping(Daemon& d) {
  const std::string& path = d.settings.shaping_file;
  if (path.empty() || d.dispatcher == nullptr) {
    return "no shaping rules file is configured ([delivery] shaping)";
  }
  auto loaded = app::LoadShapingRules(path);
  if (!loaded.rules) {
    spdlog::error("shaping rules not reloaded, keeping the old ones:\n{}", loaded.errors);
    return loaded.errors;
  }
  asio::post(*d.delivery_ctx, [p = d.dispatcher, r = loaded.rules] { p->SetShaping(r); });
  spdlog::info("shaping rules reloaded from {}", path);
  return "";
}

asio::awaitable<void> WatchCertificates(asio::io_context& main, Daemon& d) {
  constexpr auto kInterval = std::chrono::seconds(2);
  asio::steady_timer t(main);
  while (true) {
    t.expires_after(kInterval);
    auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      co_return;
    }
    for (auto& h : d.tls_holders) {
      auto r = h->ReloadIfChanged();
      if (!r) {
        spdlog::error("TLS certificate files changed but do not load, keeping the old ones: {}",
                      r.error());
      } else if (*r) {
        spdlog::info("TLS certificate reloaded: its files changed");
      }
    }
  }
}

asio::awaitable<void> WaitForSignals(asio::io_context& main, asio::signal_set& signals, Daemon& d,
                                     smtp::Server& server, api::HttpServer& http) {
  while (true) {
    auto [ec, sig] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      co_return;
    }
    if (sig == SIGHUP) {
      Reload(d);
      continue;
    }
    break;
  }
  spdlog::info("shutting down: {} sessions open", server.active_sessions());
  server.BeginShutdown();
  http.BeginShutdown();
  bool hurry = false;
  asio::co_spawn(main, HurryOnSecondSignal(signals, hurry), asio::detached);
  auto deadline = std::chrono::steady_clock::now() + d.settings.shutdown_timeout;
  asio::steady_timer t(main);
  while (!hurry && server.active_sessions() > 0 && std::chrono::steady_clock::now() < deadline) {
    t.expires_after(std::chrono::milliseconds(20));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (server.active_sessions() > 0) {
    spdlog::warn("closing {} sessions still open", server.active_sessions());
  }
  main.stop();
}

bool BudgetDescriptors(app::Settings& st) {
  auto fd = runtime::RaiseFdLimit();
  if (!fd.error.empty()) {
    spdlog::warn("file descriptors: cannot raise the limit of {}: {}", fd.soft_before, fd.error);
  } else if (fd.soft != fd.soft_before) {
    spdlog::info("file descriptors: soft limit raised from {} to {} (the hard limit)",
                 fd.soft_before, fd.soft);
  }
  std::uint64_t reserve = st.reserved_descriptors;
  if (fd.soft < reserve + 16) {
    spdlog::critical(
        "file descriptors: the limit is {} but server.reserved_descriptors is {}: raise the hard "
        "limit (ulimit -Hn, systemd LimitNOFILE=) or lower the reserve",
        fd.soft, reserve);
    return false;
  }
  std::uint64_t budget = fd.soft - reserve;
  std::uint64_t wanted = 0;
  for (const auto& l : st.listeners) {
    wanted += l.smtp.limits.max_connections;
  }
  st.server.max_inbound_connections =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(budget, UINT32_MAX));
  if (wanted > budget) {
    spdlog::warn(
        "file descriptors: the listeners allow {} connections in all, but the limit of {} less "
        "the reserve of {} leaves {}: clients past {} get 421 4.7.0 (raise the hard limit, "
        "e.g. systemd LimitNOFILE=, or lower max_connections)",
        wanted, fd.soft, reserve, budget, budget);
  }
  return true;
}

bool ListenerTls(Daemon& d, const std::string& what, app::TlsMode mode, tls::ServerOptions files,
                 std::shared_ptr<tls::ServerContextHolder>& out) {
  if (mode == app::TlsMode::kNone) {
    return true;
  }
  if (mode == app::TlsMode::kSelfSigned) {
    files.cert_file.clear();
    files.key_file.clear();
  }
  auto h = tls::ServerContextHolder::Create(files);
  if (!h) {
    spdlog::critical("{}: {}", what, h.error());
    return false;
  }
  out = std::move(h).value();
  d.tls_holders.push_back(out);
  return true;
}

std::unique_ptr<api::MetricsEndpoint> MakeMetricsEndpoint(Daemon& d, const shaping::Shaper* shaper,
                                                          const Clock& clock) {
  d.metrics->SetReaders(
      {.inbound_connections =
           [&d] { return static_cast<double>(d.server_ctx.inbound_connections.load()); },
       .spool_bytes = [&d] { return static_cast<double>(DirectoryBytes(d.settings.spool_path)); },
       .free_disk_bytes =
           [&d] { return static_cast<double>(FreeDiskBytes(d.settings.spool_path).value_or(0)); },
       .event_log = [&d] { return d.bus.stats(); },
       .webhooks =
           [&d] {
             return d.webhooks ? d.webhooks->Status() : std::vector<webhook::WebhookStatus>{};
           },
       .health =
           [&d] {
             return d.health ? d.health->book().Snapshot() : std::vector<monitor::DomainHealth>{};
           },
       .blocklists =
           [&d] {
             return d.blocklists ? d.blocklists->Snapshot() : std::vector<monitor::Listing>{};
           }});
  api::MetricsEndpoint::Options o{.registry = d.metrics->registry(),
                                  .require_key = d.settings.metrics.require_key,
                                  .refresh = {},
                                  .refresh_ctx = nullptr};
  if (d.dispatcher != nullptr && shaper != nullptr) {
    o.refresh = [&d, shaper, &clock] {
      d.metrics->ReadDelivery(*d.queue, *d.dispatcher, *shaper, clock.Now());
    };
    o.refresh_ctx = d.delivery_ctx;
  }
  return std::make_unique<api::MetricsEndpoint>(std::move(o));
}

}  // namespace sluice::app
