#pragma once
// Security: a unix-domain socket (mode 0600) for local operators only.
// Standards: none; one command line in, one JSON object line out.
//
// Commands: "queue summary", "queue flush [DOMAIN]", "queue suspend DOMAIN",
// "queue resume DOMAIN", "queue bounce DOMAIN|ID", "key list|create|revoke",
// "shaping explain DOMAIN [--source IP] [--tenant T] [--campaign C]" (the
// running node's rules, routes and DNS), "webhook ..." (api/webhooks_admin.h),
// "suppression ..." (api/suppressions.h:
// import reads CSV lines to the end of the stream, export writes them).
// `sluice queue ...` and `sluice key ...` speak it.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "auth/api_keys.h"
#include "core/result.h"
#include "delivery/dispatcher.h"
#include "events/events.h"
#include "ingest/feedback.h"
#include "spool/spool.h"

namespace sluice::tlsrpt {
class Reporter;
}

namespace sluice::webhook {
class Webhooks;
}

namespace sluice::api {

class SuppressionApi;

class AdminServer {
 public:
  // What the commands act on; all of it lives on the delivery io_context.
  struct Parts {
    queue::Manager& queue;
    delivery::Dispatcher& dispatcher;
    shaping::Shaper& shaper;
  };
  // Listens on `path` on the delivery io_context. Without `parts` (delivery
  // off), the queue and warm-up commands say so; the others work.
  static Result<std::unique_ptr<AdminServer>, std::string> Create(boost::asio::io_context& ioc,
                                                                  std::string path,
                                                                  std::optional<Parts> parts);
  ~AdminServer();

  // Runs one command; the JSON reply (exposed for tests). Run() takes every
  // command, Execute() those that need no waiting (all but shaping explain).
  static boost::asio::awaitable<std::string> Run(AdminServer* self, std::string line);
  std::string Execute(const std::string& line);
  // "shaping reload": re-reads the rules file; returns "" or what is wrong.
  void OnShapingReload(std::function<std::string()> fn) { shaping_reload_ = std::move(fn); }
  // "events status": the event log's counts of records written and failed.
  void OnEventsStatus(std::function<events::SinkStats()> fn) { events_status_ = std::move(fn); }
  // "bounce status": failures by record type and bounce class since start (JSON).
  void OnBounceStatus(std::function<std::string()> fn) { bounce_status_ = std::move(fn); }
  // "health" and "health blocklists": the scheduled checks' latest results
  // (JSON: monitor/health_book.h, monitor/blocklist_monitor.h); the
  // function is asked for the blocklists' (true) or the domains' (false);
  // nullopt: those checks are off.
  void OnHealth(std::function<std::optional<std::string>(bool)> fn) { health_ = std::move(fn); }
  // "feedback status": what came to the bounce domains since start.
  void OnFeedbackStatus(std::function<ingest::FeedbackStats()> fn) {
    feedback_status_ = std::move(fn);
  }
  // "spool status": whether the spool takes mail, its counts, and free space.
  struct SpoolStatus {
    spool::SpoolStats stats;
    bool accepting = false;  // a store would be taken now (Spool::Admission)
    std::optional<std::uint64_t> free_bytes;
    std::uint64_t min_free_disk = 0;
  };
  void OnSpoolStatus(std::function<SpoolStatus()> fn) { spool_status_ = std::move(fn); }
  // "key list", "key create [TENANT]", "key revoke ID": the HTTP API's keys.
  void SetApiKeys(auth::ApiKeyStore* keys) { keys_ = keys; }
  // "suppression add|remove|check|import|export ..." (api/suppressions.h).
  void SetSuppressions(SuppressionApi* s) { suppressions_ = s; }
  // "webhook list|test|replay ..." (api/webhooks_admin.h); replay reads `event_log`.
  // "tls report status|send": the RFC 8460 counts; send ends the day now.
  void SetTlsReports(tlsrpt::Reporter* r) { tls_reports_ = r; }
  void SetWebhooks(webhook::Webhooks* w, std::string event_log) {
    webhooks_ = w;
    event_log_ = std::move(event_log);
  }

 private:
  AdminServer(boost::asio::io_context& ioc, std::string path, std::optional<Parts> parts)
      : acceptor_(ioc), path_(std::move(path)), parts_(parts) {}
  static boost::asio::awaitable<void> AcceptLoop(AdminServer* self);
  std::string KeyCommand(const std::string& verb, const std::string& arg, const std::string& extra);
  static boost::asio::awaitable<void> Serve(AdminServer* self,
                                            boost::asio::local::stream_protocol::socket s);

  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::string path_;
  std::optional<Parts> parts_;
  std::function<std::string()> shaping_reload_;
  std::function<events::SinkStats()> events_status_;
  std::function<ingest::FeedbackStats()> feedback_status_;
  std::function<std::string()> bounce_status_;
  std::function<std::optional<std::string>(bool)> health_;
  std::function<SpoolStatus()> spool_status_;
  auth::ApiKeyStore* keys_ = nullptr;
  SuppressionApi* suppressions_ = nullptr;
  webhook::Webhooks* webhooks_ = nullptr;
  std::string event_log_;
  tlsrpt::Reporter* tls_reports_ = nullptr;
};

}  // namespace sluice::api
