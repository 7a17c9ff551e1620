#include "api/v1.h"

#include <map>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include "api/admin.h"
#include "api/dashboard.h"
#include "api/dmarc.h"
#include "api/domain_check.h"
#include "api/inject.h"
#include "api/keys.h"
#include "api/message_view.h"
#include "api/metrics_endpoint.h"
#include "api/openapi.h"
#include "api/stats.h"
#include "api/suppressions.h"
#include "api/tracking.h"
#include "api/unsubscribe.h"
#include "core/spool_id.h"
#include "delivery/explain.h"
#include "runtime/blocking.h"

namespace sluice::api {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

namespace {

// How far ahead "send_at" may be: a message waits in the spool until then.
constexpr std::chrono::hours kMaxSendAhead{30 * 24};

HttpResponse Json(unsigned status, const json::object& o) {
  HttpResponse r;
  r.status = status;
  r.body = json::serialize(o);
  return r;
}

HttpResponse MethodNotAllowed(std::string_view allowed) {
  HttpResponse r = ErrorResponse(405, "method_not_allowed", "use " + std::string(allowed));
  r.headers.emplace_back("Allow", std::string(allowed));
  return r;
}

HttpResponse NotFound() {
  return ErrorResponse(404, "not_found", "no such resource");
}

// The secret of "Authorization: Bearer SECRET", or empty.
std::string_view BearerOf(const HttpRequest& req) {
  std::string_view h = req.Header("authorization");
  constexpr std::string_view kScheme = "bearer ";
  if (h.size() <= kScheme.size()) {
    return {};
  }
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(h[i])) != kScheme[i]) {
      return {};
    }
  }
  h.remove_prefix(kScheme.size());
  while (!h.empty() && h.front() == ' ') {
    h.remove_prefix(1);
  }
  return h;
}

// A JSON object body (an empty body is an empty object), or the 400 to answer.
Result<json::object, HttpResponse> ObjectBody(const HttpRequest& req) {
  if (req.body.empty()) {
    return json::object{};
  }
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec || !v.is_object()) {
    return Fail(ErrorResponse(400, "bad_request", "the body must be a JSON object"));
  }
  return std::move(v.get_object());
}

// An ingest reply as HTTP: 2xx accepted, 4xx try again later, 5.7.x not
// allowed (a tenant's domains), other 5xx refused.
unsigned StatusFor(const smtp::Reply& r) {
  if (r.code / 100 == 2) {
    return 202;
  }
  if (r.enhanced == "4.7.1") {
    return 429;  // a tenant's quota (RFC 6585 §4)
  }
  if (r.code / 100 == 4) {
    return 503;
  }
  return r.enhanced.rfind("5.7.", 0) == 0 ? 403 : 422;
}

// Messages of one request, taken in concurrently.
struct AcceptBatch {
  AcceptBatch(asio::any_io_executor ex, std::size_t n)
      : done(ex, asio::steady_timer::time_point::max()), replies(n), left(n) {}
  asio::steady_timer done;  // cancelled when the last one is in
  std::vector<smtp::Reply> replies;
  std::size_t left;
};

awaitable<void> AcceptOne(smtp::MessageSink& sink, smtp::SessionInfo session, Envelope envelope,
                          std::string content, std::shared_ptr<AcceptBatch> batch, std::size_t i) {
  smtp::Reply reply;
  try {
    reply = co_await sink.Accept(std::move(session), std::move(envelope), std::move(content));
  } catch (const std::exception& e) {
    reply = smtp::Reply{451, "4.3.0", std::string("Local error: ") + e.what()};
  }
  batch->replies[i] = std::move(reply);
  if (--batch->left == 0) {
    batch->done.cancel();
  }
}

// Runs on the admin context (the delivery thread).
}  // namespace

ApiV1::ApiV1(Parts parts) : parts_(std::move(parts)), idempotency_(parts_.clock) {
  if (spool::HistoryStore* journal = parts_.journal) {
    const auto since = ToMicros(parts_.clock.Now() - idempotency_.keep());
    journal->ForEachRecord(since, [this](std::int64_t at_us, std::string_view record) {
      idempotency_.Restore(at_us, record);
    });
    idempotency_.SetJournal([journal](std::int64_t at_us, std::string record) {
      journal->AppendRecord(at_us, record);
    });
  }
}

awaitable<HttpResponse> ApiV1::Handle(HttpRequest req) {
  const std::string_view path = req.Path();
  if (path == "/healthz") {
    co_return Json(200, json::object{{"status", "ok"}});
  }
  if (path == "/readyz") {
    std::optional<std::string> why = parts_.not_ready ? parts_.not_ready() : std::nullopt;
    if (why) {
      co_return Json(503, json::object{{"ready", false}, {"reason", *why}});
    }
    co_return Json(200, json::object{{"ready", true}});
  }
  if (path.substr(0, 3) == "/t/" && parts_.tracking != nullptr) {
    co_return parts_.tracking->Handle(req, path.substr(3));
  }
  if (path.substr(0, 3) == "/u/" && parts_.unsubscribe != nullptr) {
    HttpResponse r = co_await parts_.unsubscribe->Handle(req, path.substr(3));
    co_return r;
  }
  if (auto page = ServeDashboard(req)) {
    co_return *page;
  }
  const bool metrics = path == "/metrics" && parts_.metrics != nullptr;
  constexpr std::string_view kPrefix = "/api/v1/";
  if (path.substr(0, kPrefix.size()) != kPrefix && !metrics) {
    co_return NotFound();
  }
  if (path == "/api/v1/openapi.json") {  // documentation: no key needed
    HttpResponse r;
    r.body = kOpenApiJson;
    co_return r;
  }
  if (metrics && !parts_.metrics->require_key()) {
    HttpResponse r = co_await parts_.metrics->Handle(req);
    co_return r;
  }
  const std::string_view secret = BearerOf(req);
  std::optional<auth::ApiKey> key;
  if (!secret.empty() && parts_.keys != nullptr) {
    key = parts_.keys->Authenticate(secret);
  }
  if (!key) {
    HttpResponse r = ErrorResponse(
        401, "unauthorized",
        secret.empty() ? "an Authorization: Bearer KEY header is needed" : "the key is not valid");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"sluice\"");
    co_return r;
  }
  if (metrics) {
    if (!key->operator_key()) {
      co_return ErrorResponse(403, "forbidden", "this needs an operator key");
    }
    HttpResponse r = co_await parts_.metrics->Handle(req);
    co_return r;
  }
  const std::string_view rest = path.substr(kPrefix.size());
  if (rest == "messages") {
    if (req.method != "POST") {
      co_return MethodNotAllowed("POST");
    }
    const std::string_view idem = req.Header("idempotency-key");
    if (idem.empty()) {
      HttpResponse r = co_await Inject(req, *key);
      CountRefusal(req, r);
      co_return r;
    }
    if (!ValidIdempotencyKey(idem)) {
      co_return ErrorResponse(400, "bad_request",
                              "an Idempotency-Key is 1-255 printable ASCII characters");
    }
    const auto seen = idempotency_.Begin(key->id, idem, req.body);
    if (seen.state == IdempotencyCache::State::kReused) {
      co_return ErrorResponse(422, "idempotency_key_reused",
                              "this Idempotency-Key was used with another request body");
    }
    if (seen.state == IdempotencyCache::State::kRunning) {
      HttpResponse r = ErrorResponse(
          409, "in_progress", "the first request with this Idempotency-Key is still running");
      r.headers.emplace_back("Retry-After", "1");
      co_return r;
    }
    if (seen.state == IdempotencyCache::State::kDone) {
      HttpResponse r;
      r.status = seen.answer.status;
      r.body = seen.answer.body;
      r.headers.emplace_back("Idempotent-Replayed", "true");
      co_return r;
    }
    HttpResponse r;
    try {
      r = co_await Inject(req, *key);
    } catch (...) {
      idempotency_.Abandon(key->id, idem);
      throw;
    }
    CountRefusal(req, r);
    if (r.status >= 500 || r.status == 429) {
      idempotency_.Abandon(key->id, idem);  // transient: the retry runs again
    } else {
      idempotency_.Finish(key->id, idem, {r.status, r.body});
    }
    co_return r;
  }
  if (rest.substr(0, 9) == "messages/") {
    if (req.method != "GET") {
      co_return MethodNotAllowed("GET");
    }
    HttpResponse r = co_await GetMessage(rest.substr(9), *key);
    co_return r;
  }
  if (rest == "suppressions" || rest.substr(0, 13) == "suppressions/") {
    if (parts_.suppressions == nullptr) {
      co_return NotFound();
    }
    HttpResponse r = co_await parts_.suppressions->Handle(req, rest.substr(12), *key);
    co_return r;
  }
  if (rest == "me") {  // who the key is: the dashboard's login
    if (req.method != "GET") {
      co_return MethodNotAllowed("GET");
    }
    co_return Json(200, json::object{{"id", key->id},
                                     {"operator", key->operator_key()},
                                     {"tenant", key->operator_key() ? json::value(nullptr)
                                                                    : json::value(key->tenant)}});
  }
  if (rest == "stats" || rest == "events/recent") {
    if (parts_.stats == nullptr) {
      co_return NotFound();
    }
    if (rest == "events/recent") {
      co_return parts_.stats->Recent(req, *key);
    }
    HttpResponse r = co_await parts_.stats->Handle(req, *key);
    co_return r;
  }
  const bool operate = rest == "queues" || rest.substr(0, 7) == "queues/" || rest == "keys" ||
                       rest.substr(0, 5) == "keys/" || rest == "warmup" ||
                       rest == "shaping/reload" || rest == "shaping/explain" ||
                       rest == "webhooks" || rest.substr(0, 9) == "webhooks/" || rest == "doctor" ||
                       rest == "health/domains" || rest == "health/blocklists" || rest == "dmarc";
  if (!operate) {
    co_return NotFound();
  }
  if (!key->operator_key()) {
    co_return ErrorResponse(403, "forbidden", "this needs an operator key");
  }
  if (rest == "keys" || rest.substr(0, 5) == "keys/") {
    co_return Keys(req, rest.substr(4));
  }
  if (rest == "doctor") {
    if (parts_.domain_check == nullptr) {
      co_return ErrorResponse(503, "unavailable",
                              "delivery is not enabled on this node (the checks use its resolver)");
    }
    HttpResponse r = co_await parts_.domain_check->Handle(req);
    co_return r;
  }
  if (rest == "dmarc") {
    if (parts_.dmarc == nullptr) {
      co_return ErrorResponse(404, "not_found",
                              "no DMARC report address is configured ([dmarc] addresses)");
    }
    HttpResponse r = co_await parts_.dmarc->Handle(req);
    co_return r;
  }
  if (rest == "health/domains" || rest == "health/blocklists") {
    const auto& read = rest == "health/domains" ? parts_.health_domains : parts_.health_blocklists;
    if (!read) {
      co_return ErrorResponse(404, "not_found", "these checks are off on this node");
    }
    if (req.method != "GET") {
      co_return MethodNotAllowed("GET");
    }
    HttpResponse r;
    r.body = read();
    co_return r;
  }
  if (rest == "shaping/explain") {
    HttpResponse r = co_await Explain(req);
    co_return r;
  }
  if (rest == "webhooks" || rest.substr(0, 9) == "webhooks/") {
    HttpResponse r = co_await Webhooks(req, rest.substr(8));
    co_return r;
  }
  if (rest == "warmup" || rest == "shaping/reload") {
    const bool get = rest == "warmup";
    if (req.method != (get ? "GET" : "POST")) {
      co_return MethodNotAllowed(get ? "GET" : "POST");
    }
    HttpResponse r = co_await RunAdmin(get ? "warmup status" : "shaping reload");
    co_return r;
  }
  // (A named local: GCC 12 mishandles a conditional in a co_await operand.)
  std::string_view what;
  if (rest != "queues") {
    what = rest.substr(7);
  }
  HttpResponse r = co_await Operate(req, what);
  co_return r;
}

void ApiV1::CountRefusal(const HttpRequest& req, const HttpResponse& r) const {
  if (r.status >= 400 && parts_.on_refused) {
    parts_.on_refused(req.listener, "api", smtp::Reply{static_cast<int>(r.status), "", ""});
  }
}

awaitable<HttpResponse> ApiV1::Webhooks(const HttpRequest& req, std::string_view tail) {
  // "" (GET: the list), "/NAME/test", "/NAME/replay" {"since": RFC 3339}.
  if (tail.empty()) {
    if (req.method != "GET") {
      co_return MethodNotAllowed("GET");
    }
    HttpResponse r = co_await RunAdmin("webhook list");
    co_return r;
  }
  const auto slash = tail.find('/', 1);
  const std::string_view name = tail.substr(1, slash == std::string_view::npos ? 0 : slash - 1);
  const std::string_view verb = slash == std::string_view::npos ? "" : tail.substr(slash + 1);
  if (name.empty() || name.find(' ') != std::string_view::npos ||
      (verb != "test" && verb != "replay")) {
    co_return NotFound();
  }
  if (req.method != "POST") {
    co_return MethodNotAllowed("POST");
  }
  std::string line = "webhook " + std::string(verb) + " " + std::string(name);
  if (verb == "replay") {
    boost::system::error_code ec;
    json::value v = json::parse(req.body, ec);
    const json::value* since = !ec && v.is_object() ? v.get_object().if_contains("since") : nullptr;
    if (since == nullptr || !since->is_string() || since->get_string().empty() ||
        std::string_view(since->get_string()).find(' ') != std::string_view::npos) {
      co_return ErrorResponse(400, "bad_request", "the body is {\"since\": \"RFC 3339 time\"}");
    }
    line += " " + std::string(since->get_string());
  }
  HttpResponse r = co_await RunAdmin(std::move(line));
  co_return r;
}

awaitable<HttpResponse> ApiV1::GetMessage(std::string_view id_text, const auth::ApiKey& key) {
  const auto id = SpoolId::FromHex(id_text);
  if (!id || parts_.spool == nullptr || parts_.blocking == nullptr) {
    co_return ErrorResponse(404, "not_found", "no such message");
  }
  // Both reads may wait on the disk: not on a reactor thread.
  struct Found {
    std::optional<spool::Meta> meta;
    std::vector<std::string> events;
  };
  spool::Spool* spool = parts_.spool;
  events::History* history = parts_.history;
  const SpoolId sid = *id;
  Found found;
  found = co_await runtime::RunBlocking(*parts_.blocking, [spool, history, sid] {
    Found f;
    if (auto m = spool->ReadMeta(sid)) {
      f.meta = std::move(m).value();
    }
    if (history != nullptr) {
      f.events = history->Read(sid.Hex());
    }
    return f;
  });
  MessageView view = ViewMessage(id->Hex(), found.meta, found.events);
  // Another tenant's message is as unknown as a missing one.
  if (!view.found || (!key.operator_key() && view.tenant != key.tenant)) {
    co_return ErrorResponse(404, "not_found", "no such message");
  }
  co_return Json(200, view.body);
}

awaitable<HttpResponse> ApiV1::Inject(const HttpRequest& req, const auth::ApiKey& key) {
  // MIME boundaries need only be unlikely in the content: a per-thread
  // generator seeded once, not the kernel's randomness per request.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::string unique = fmt::format("{:016x}{:08x}", rng(), static_cast<std::uint32_t>(rng()));
  auto parsed = ParseInject(req.body, unique);
  if (!parsed) {
    const unsigned status = parsed.error().code == "too_large" ? 413 : 400;
    co_return ErrorResponse(status, parsed.error().code, parsed.error().message);
  }
  InjectRequest& in = *parsed;
  if (!in.tenant.empty() && !key.operator_key() && in.tenant != key.tenant) {
    co_return ErrorResponse(403, "forbidden", "a tenant key sends as its own tenant only");
  }
  json::array rejected;
  for (const auto& r : in.rejected) {
    rejected.push_back(json::object{{"recipient", r.recipient}, {"message", r.message}});
  }
  smtp::SessionInfo session;
  session.listener = req.listener;
  session.kind = smtp::ListenerKind::kSubmission;  // completes Date and Message-ID
  session.client_ip = req.client_ip;
  session.esmtp = true;
  session.auth_user = "api-key:" + key.id;
  session.protocol = req.tls ? "HTTPS" : "HTTP";
  session.tenant = key.operator_key() ? in.tenant : key.tenant;
  session.campaign = in.campaign;
  session.unsubscribe = in.unsubscribe;
  session.track_opens = in.track_opens;
  session.track_clicks = in.track_clicks;
  // Suppressed recipients are left out, each reported (and a Suppressed event).
  for (auto it = in.messages.begin(); it != in.messages.end();) {
    auto& rcpts = it->envelope.recipients;
    for (std::size_t i = 0; i < rcpts.size();) {
      if (auto refusal =
              parts_.ingest.CheckRecipient(session, it->envelope.sender, rcpts[i].address)) {
        rejected.push_back(json::object{
            {"recipient", it->recipients[i]},
            {"message", fmt::format("{} {} {}", refusal->code, refusal->enhanced, refusal->text)}});
        rcpts.erase(rcpts.begin() + static_cast<std::ptrdiff_t>(i));
        it->recipients.erase(it->recipients.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
    it = rcpts.empty() ? in.messages.erase(it) : it + 1;
  }
  if (in.messages.empty()) {
    co_return Json(400, json::object{{"error", json::object{{"code", "no_valid_recipient"},
                                                            {"message", "no recipient is valid"}}},
                                     {"rejected", std::move(rejected)}});
  }
  if (auto busy = parts_.ingest.CheckResources()) {
    HttpResponse r = ErrorResponse(503, "unavailable", busy->text);
    r.headers.emplace_back("Retry-After", "30");
    co_return r;
  }
  session.metadata = std::move(in.metadata);
  if (in.send_at) {
    const auto now = parts_.clock.Now();
    if (*in.send_at > now + kMaxSendAhead) {
      co_return ErrorResponse(
          400, "bad_request",
          fmt::format("\"send_at\" may be at most {} days ahead", kMaxSendAhead.count() / 24));
    }
    session.send_at_us = *in.send_at > now ? ToMicros(*in.send_at) : 0;  // past: now
  }
  // Every message through ingest at once: their spool syncs are grouped.
  // One message is taken in this coroutine (no spawn, no timer).
  auto ex = co_await asio::this_coro::executor;
  auto batch = std::make_shared<AcceptBatch>(ex, in.messages.size());
  if (in.messages.size() == 1) {
    auto& m = in.messages[0];
    co_await AcceptOne(parts_.ingest, std::move(session), std::move(m.envelope),
                       std::move(m.content), batch, 0);
  } else {
    for (std::size_t i = 0; i < in.messages.size(); ++i) {
      auto& m = in.messages[i];
      asio::co_spawn(
          ex,
          AcceptOne(parts_.ingest, session, std::move(m.envelope), std::move(m.content), batch, i),
          asio::detached);
    }
  }
  while (batch->left > 0) {
    co_await batch->done.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  // All taken: 202. Some not: the first refusal's status, with what was taken.
  json::array messages;
  json::array refused;
  std::optional<smtp::Reply> first_refusal;
  for (std::size_t i = 0; i < in.messages.size(); ++i) {
    const smtp::Reply& reply = batch->replies[i];
    json::array recipients;
    for (auto& g : in.messages[i].recipients) {
      recipients.push_back(json::value(g));
    }
    if (reply.code / 100 == 2) {
      messages.push_back(json::object{{"id", reply.text.substr(reply.text.rfind(' ') + 1)},
                                      {"recipients", std::move(recipients)}});
    } else {
      if (!first_refusal) {
        first_refusal = reply;
      }
      refused.push_back(json::object{
          {"recipients", std::move(recipients)},
          {"message", fmt::format("{} {} {}", reply.code, reply.enhanced, reply.text)}});
    }
  }
  if (!first_refusal) {
    co_return Json(
        202, json::object{{"messages", std::move(messages)}, {"rejected", std::move(rejected)}});
  }
  const unsigned status = StatusFor(*first_refusal);
  HttpResponse r = Json(
      status,
      json::object{{"error", json::object{{"code", status == 503   ? "unavailable"
                                                   : status == 403 ? "forbidden"
                                                   : status == 429 ? "over_quota"
                                                                   : "rejected"},
                                          {"message", fmt::format("{} {} {}", first_refusal->code,
                                                                  first_refusal->enhanced,
                                                                  first_refusal->text)}}},
                   {"messages", std::move(messages)},
                   {"refused", std::move(refused)},
                   {"rejected", std::move(rejected)}});
  if (status == 503) {
    r.headers.emplace_back("Retry-After", "30");
  } else if (status == 429) {
    // "...; try again in N s"
    const auto& text = first_refusal->text;
    const auto at = text.rfind("in ");
    r.headers.emplace_back("Retry-After", at == std::string::npos
                                              ? "60"
                                              : text.substr(at + 3, text.rfind(' ') - at - 3));
  }
  co_return r;
}

awaitable<HttpResponse> ApiV1::RunAdmin(std::string line) {
  if (parts_.admin == nullptr || parts_.admin_ctx == nullptr) {
    co_return ErrorResponse(503, "unavailable", "delivery is not enabled on this node");
  }
  // A plain function, not a capturing lambda: GCC 12 destroys a coroutine
  // lambda's captures twice.
  std::string out = co_await asio::co_spawn(
      *parts_.admin_ctx, AdminServer::Run(parts_.admin, std::move(line)), asio::use_awaitable);
  boost::system::error_code ec;
  json::value v = json::parse(out, ec);
  if (!ec && v.is_object() && v.get_object().contains("error") &&
      v.get_object().at("error").is_string()) {
    co_return ErrorResponse(400, "bad_request", v.get_object().at("error").get_string());
  }
  HttpResponse r;
  r.body = std::move(out);
  co_return r;
}

awaitable<HttpResponse> ApiV1::Operate(const HttpRequest& req, std::string_view what) {
  if (what.empty()) {
    if (req.method != "GET") {
      co_return MethodNotAllowed("GET");
    }
    HttpResponse r = co_await RunAdmin("queue summary");
    co_return r;
  }
  if (what != "flush" && what != "suspend" && what != "resume" && what != "bounce") {
    co_return NotFound();
  }
  if (req.method != "POST") {
    co_return MethodNotAllowed("POST");
  }
  auto body = ObjectBody(req);
  if (!body) {
    co_return body.error();
  }
  std::string target;
  std::string duration;
  for (const auto& [k, v] : *body) {
    if ((k != "target" && k != "duration") || !v.is_string()) {
      co_return ErrorResponse(400, "bad_request",
                              fmt::format("unknown or non-string field \"{}\" (known: target, "
                                          "duration)",
                                          std::string_view(k)));
    }
    (k == "target" ? target : duration) = std::string(v.get_string());
  }
  for (const std::string* s : {&target, &duration}) {
    if (s->find_first_of(" \t\r\n") != std::string::npos) {
      co_return ErrorResponse(400, "bad_request", "a target or duration has no spaces");
    }
  }
  if (target.empty() && what != "flush") {
    co_return ErrorResponse(400, "bad_request", "\"target\" is required");
  }
  if (!duration.empty() && what != "suspend") {
    co_return ErrorResponse(400, "bad_request", "only suspend takes a duration");
  }
  std::string line = fmt::format("queue {} {}", what, target);
  if (!duration.empty()) {
    line += " " + duration;
  }
  HttpResponse r = co_await RunAdmin(std::move(line));
  co_return r;
}

awaitable<HttpResponse> ApiV1::Explain(const HttpRequest& req) {
  if (req.method != "POST") {
    co_return MethodNotAllowed("POST");
  }
  auto body = ObjectBody(req);
  if (!body) {
    co_return body.error();
  }
  std::map<std::string, std::string, std::less<>> fields{
      {"domain", ""}, {"source", ""}, {"tenant", ""}, {"campaign", ""}};
  for (const auto& [k, v] : *body) {
    auto it = fields.find(std::string_view(k));
    if (it == fields.end() || !v.is_string()) {
      co_return ErrorResponse(400, "bad_request",
                              fmt::format("unknown or non-string field \"{}\" (known: domain, "
                                          "source, tenant, campaign)",
                                          std::string_view(k)));
    }
    it->second = std::string(v.get_string());
  }
  // Checked here, so the command line built from it is the one meant.
  auto q = delivery::MakeExplainQuery(fields["domain"], fields["source"], fields["tenant"],
                                      fields["campaign"]);
  if (!q) {
    co_return ErrorResponse(400, "bad_request", q.error());
  }
  std::string line = "shaping explain " + q->domain;
  if (q->source) {
    line += " --source " + *q->source;
  }
  if (!q->tenant.empty()) {
    line += " --tenant " + q->tenant;
  }
  if (!q->campaign.empty()) {
    line += " --campaign " + q->campaign;
  }
  HttpResponse r = co_await RunAdmin(std::move(line));
  co_return r;
}

HttpResponse ApiV1::Keys(const HttpRequest& req, std::string_view rest) {
  if (parts_.keys == nullptr) {
    return ErrorResponse(503, "unavailable", "no keys file is configured");
  }
  auto answer = [](Result<std::string, KeyCommandError> r, unsigned ok_status) {
    if (!r) {
      return ErrorResponse(r.error().status, r.error().status == 404 ? "not_found" : "bad_request",
                           r.error().message);
    }
    HttpResponse out;
    out.status = ok_status;
    out.body = std::move(r).value();
    return out;
  };
  if (rest.empty()) {
    if (req.method == "GET") {
      HttpResponse out;
      out.body = ListKeys(*parts_.keys);
      return out;
    }
    if (req.method != "POST") {
      return MethodNotAllowed("GET, POST");
    }
    auto body = ObjectBody(req);
    if (!body) {
      return body.error();
    }
    std::string tenant;
    for (const auto& [k, v] : *body) {
      if (k != "tenant" || !(v.is_string() || v.is_null())) {
        return ErrorResponse(
            400, "bad_request",
            "a key has one field, \"tenant\" (a name, or null for an operator key)");
      }
      if (v.is_string()) {
        tenant = std::string(v.get_string());
        if (tenant.empty()) {
          return ErrorResponse(400, "bad_request", "\"tenant\" names a tenant, or is null");
        }
      }
    }
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(parts_.clock.Now().time_since_epoch())
            .count();
    return answer(CreateKey(*parts_.keys, tenant, now), 201);
  }
  // "/ID"
  if (req.method != "DELETE") {
    return MethodNotAllowed("DELETE");
  }
  return answer(RevokeKey(*parts_.keys, std::string(rest.substr(1))), 200);
}

}  // namespace sluice::api
