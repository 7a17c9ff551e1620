#pragma once
// Security: every /api/v1 request but the OpenAPI document carries a bearer
//           key (RFC 6750 §2.1); a tenant's key injects as its tenant and
//           nothing else, an operator's key may do everything. /healthz and
//           /readyz are open (no data).
// Standards: RFC 9110 (methods, status codes), RFC 8259 (JSON).
//
// Routes:
//   GET  /healthz, /readyz
//   GET  /, /dashboard/NAME                   the dashboard's pages (api/dashboard.h; no key:
//                                             they hold no data)
//   POST /api/v1/messages                     inject (api/inject.h); Idempotency-Key
//                                             answers a retry with the first answer
//   GET  /api/v1/me                           the key's id, tenant and whether it is an operator's
//   GET  /api/v1/messages/ID                  one message (api/message_view.h); a
//                                             tenant's key sees its tenant's only
//   GET  /api/v1/queues                       queue summary          (operator)
//   POST /api/v1/queues/flush|suspend|resume|bounce {"target", "duration"} (operator)
//   GET  /api/v1/keys, POST /api/v1/keys {"tenant"}, DELETE /api/v1/keys/ID (operator)
//   GET  /api/v1/doctor[?domain=D]           sending domains' DNS check (operator;
//                                             api/domain_check.h)
//   GET  /api/v1/health/domains              the scheduled checks' latest results
//                                             (operator; monitor/health_book.h)
//   GET  /api/v1/health/blocklists           the blocklist checks' (operator;
//                                             monitor/blocklist_monitor.h)
//   GET  /api/v1/dmarc[?domain=D&from=T&to=T] DMARC aggregate reports summed
//                                             (operator; api/dmarc.h)
//   GET  /api/v1/warmup, POST /api/v1/shaping/reload                 (operator)
//   POST /api/v1/shaping/explain {"domain", "source", "tenant", "campaign"} (operator)
//   /api/v1/suppressions...                   the suppression lists (api/suppressions.h)
//   GET  /api/v1/webhooks, POST /api/v1/webhooks/NAME/test|replay {"since"} (operator;
//                                             api/webhooks_admin.h)
//   GET  /api/v1/stats                       counters over time (api/stats.h); a
//                                             tenant's key sees its tenant's only
//   GET  /api/v1/events/recent?kind=K         the latest bounces, complaints or
//                                             unsubscribes (api/stats.h), the same
//   GET, POST /u/TOKEN                        one-click unsubscribe (api/unsubscribe.h; no key)
//   GET, HEAD /t/o/TOKEN, /t/c/TOKEN          open pixel, tracked link (api/tracking.h; no key)
//   GET  /api/v1/openapi.json                                         (no key)
//   GET  /metrics                             Prometheus metrics (api/metrics_endpoint.h;
//                                             no key, or an operator's if configured)
// Errors: {"error": {"code": "...", "message": "..."}}.

#include <functional>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/http_server.h"
#include "api/idempotency.h"
#include "auth/api_keys.h"
#include "core/clock.h"
#include "events/events.h"
#include "smtp/server/message_sink.h"
#include "spool/history_store.h"
#include "spool/spool.h"

namespace sluice::api {

class AdminServer;
class MetricsEndpoint;
class DmarcApi;
class DomainCheckApi;
class StatsApi;
class SuppressionApi;
class UnsubscribeEndpoint;
class TrackingEndpoint;

class ApiV1 final : public HttpHandler {
 public:
  struct Parts {
    smtp::MessageSink& ingest;
    const Clock& clock;
    auth::ApiKeyStore* keys = nullptr;  // null: no keys, every /api/v1 request is 401
    // The operator's commands (api/admin.h) and the context they run on;
    // null when delivery is off (those endpoints answer 503).
    AdminServer* admin = nullptr;
    boost::asio::io_context* admin_ctx = nullptr;
    // Where GET /api/v1/messages/ID looks (the history may be null: none
    // kept), and the pool its reads run on.
    spool::Spool* spool = nullptr;
    events::History* history = nullptr;
    // Where Idempotency-Key answers are kept over restarts (null: memory only).
    spool::HistoryStore* journal = nullptr;
    boost::asio::thread_pool* blocking = nullptr;
    // Why new mail would not be taken now, or nullopt (for /readyz).
    std::function<std::optional<std::string>()> not_ready;
    // The suppression lists' endpoints; null: 404.
    SuppressionApi* suppressions = nullptr;
    // GET /api/v1/doctor (api/domain_check.h; operator); null: 503.
    DomainCheckApi* domain_check = nullptr;
    // GET /api/v1/health/domains: the scheduled checks' state as JSON; empty: 404.
    std::function<std::string()> health_domains;
    // GET /api/v1/health/blocklists, the same.
    std::function<std::string()> health_blocklists;
    // GET /api/v1/dmarc (api/dmarc.h; operator); null: 404.
    DmarcApi* dmarc = nullptr;
    // GET /api/v1/stats (api/stats.h); null: 404.
    StatsApi* stats = nullptr;
    // /u/TOKEN, the one-click unsubscribe links (no key); null: 404.
    UnsubscribeEndpoint* unsubscribe = nullptr;
    // /t/o/TOKEN and /t/c/TOKEN, opens and clicks (no key); null: 404.
    const TrackingEndpoint* tracking = nullptr;
    // GET /metrics; null: 404.
    MetricsEndpoint* metrics = nullptr;
    // Told of each injection refused as a whole (its HTTP status as the code),
    // as smtp::ServerContext::on_refused is of SMTP refusals; may be empty.
    std::function<void(std::string_view listener, std::string_view phase, const smtp::Reply&)>
        on_refused;
  };
  // Reads the kept Idempotency-Key answers back from the journal.
  explicit ApiV1(Parts parts);

  boost::asio::awaitable<HttpResponse> Handle(HttpRequest request) override;

 private:
  boost::asio::awaitable<HttpResponse> Inject(const HttpRequest& req, const auth::ApiKey& key);
  boost::asio::awaitable<HttpResponse> Operate(const HttpRequest& req, std::string_view what);
  boost::asio::awaitable<HttpResponse> GetMessage(std::string_view id, const auth::ApiKey& key);
  boost::asio::awaitable<HttpResponse> Explain(const HttpRequest& req);
  boost::asio::awaitable<HttpResponse> Webhooks(const HttpRequest& req, std::string_view tail);
  HttpResponse Keys(const HttpRequest& req, std::string_view rest);
  void CountRefusal(const HttpRequest& req, const HttpResponse& r) const;
  // Runs an operator command line on the admin context; its JSON reply.
  boost::asio::awaitable<HttpResponse> RunAdmin(std::string line);

  Parts parts_;
  IdempotencyCache idempotency_;
};

}  // namespace sluice::api
