#include "api/webhooks_admin.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/clock.h"
#include "core/time_format.h"
#include "webhook/webhooks.h"

namespace sluice::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::string Error(const std::string& what) {
  return json::serialize(json::object{{"error", what}});
}

json::value TimeOrNull(std::int64_t us) {
  return us == 0 ? json::value(nullptr) : json::value(Rfc3339Micros(FromMicros(us)));
}

std::string List(const webhook::Webhooks& w) {
  json::array out;
  for (const auto& s : w.Status()) {
    out.push_back(
        json::object{{"name", s.name},
                     {"url", s.url},
                     {"tenant", s.tenant.empty() ? json::value(nullptr) : json::value(s.tenant)},
                     {"pending", s.pending},
                     {"oldest_pending", TimeOrNull(s.oldest_us)},
                     {"posts_ok", s.posts_ok},
                     {"posts_failed", s.posts_failed},
                     {"events_sent", s.events_sent},
                     {"events_dropped", s.events_dropped},
                     {"last_status", s.last_status},
                     {"last_error", s.last_error},
                     {"last_success", TimeOrNull(s.last_success_us)}});
  }
  return json::serialize(json::object{{"webhooks", std::move(out)}});
}

asio::awaitable<std::string> TestOn(webhook::Webhooks* w, std::string name) {
  auto r = co_await webhook::Webhooks::Test(w, std::move(name));
  if (!r) {
    co_return Error(r.error());
  }
  json::object o{
      {"ok", r->status >= 200 && r->status < 300}, {"status", r->status}, {"body", r->body}};
  if (r->status == 0) {
    o["reason"] = r->error;  // (not "error": that names a command that failed)
  }
  co_return json::serialize(o);
}

asio::awaitable<std::string> ReplayOn(webhook::Webhooks* w, std::string name,
                                      std::chrono::system_clock::time_point since,
                                      std::string event_log) {
  auto r = w->Replay(name, since, event_log);
  if (!r) {
    co_return Error(r.error());
  }
  co_return json::serialize(json::object{{"queued", r.value()}});
}

}  // namespace

asio::awaitable<std::string> WebhookCommand(webhook::Webhooks* webhooks, std::string event_log,
                                            std::vector<std::string> words) {
  constexpr const char* kUsage = "usage: webhook list | test NAME | replay NAME SINCE";
  if (words.size() < 2) {
    co_return Error(kUsage);
  }
  if (webhooks == nullptr) {
    if (words[1] == "list" && words.size() == 2) {
      co_return json::serialize(json::object{{"webhooks", json::array()}});
    }
    co_return Error("no webhooks are configured ([[webhook]])");
  }
  if (words[1] == "list" && words.size() == 2) {
    co_return List(*webhooks);
  }
  if (words[1] == "test" && words.size() == 3) {
    std::string out = co_await asio::co_spawn(webhooks->context(), TestOn(webhooks, words[2]),
                                              asio::use_awaitable);
    co_return out;
  }
  if (words[1] == "replay" && words.size() == 4) {
    auto since = ParseRfc3339(words[3]);
    if (!since) {
      co_return Error("SINCE is an RFC 3339 time, e.g. 2026-12-06T10:00:00Z");
    }
    // On the webhooks' thread: the file is read there, not on the caller's.
    std::string out = co_await asio::co_spawn(
        webhooks->context(), ReplayOn(webhooks, words[2], *since, std::move(event_log)),
        asio::use_awaitable);
    co_return out;
  }
  co_return Error(kUsage);
}

}  // namespace sluice::api
