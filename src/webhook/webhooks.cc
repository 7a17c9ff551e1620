#include "webhook/webhooks.h"

#include <algorithm>
#include <fstream>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "core/thread_name.h"
#include "core/time_format.h"
#include "events/log_files.h"
#include "metrics/metrics.h"
#include "runtime/log_errors.h"
#include "webhook/http_post.h"
#include "webhook/signature.h"

namespace sluice::webhook {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

// How often a sender looks at its outbox when it has nothing due.
constexpr std::chrono::milliseconds kPoll{100};
constexpr std::string_view kIdPrefix = "{\"event_id\":\"";
constexpr std::size_t kIdLength = 32;

std::string Hex(std::uint64_t v) {
  return fmt::format("{:016x}", v);
}

std::string_view EventIdOf(const std::string& json) {
  if (json.size() < kIdPrefix.size() + kIdLength || json.compare(0, kIdPrefix.size(), kIdPrefix)) {
    return {};
  }
  return std::string_view(json).substr(kIdPrefix.size(), kIdLength);
}

// A POST's body: the webhook's name and its records, in order.
template <class Records, class Json>
std::string BatchBody(const std::string& webhook, const Records& records, Json json) {
  std::string body = "{\"webhook\":\"" + webhook + "\",\"events\":[";
  bool first = true;
  for (const auto& r : records) {
    body += first ? "" : ",";
    body += json(r);
    first = false;
  }
  body += "]}";
  return body;
}

// Standard Webhooks: the id, the time, and the signature over both and the body.
HttpPoster::Headers SignedHeaders(std::string_view key, const std::string& id,
                                  std::chrono::system_clock::time_point now,
                                  const std::string& body) {
  const std::int64_t ts =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  return {{"webhook-id", id},
          {"webhook-timestamp", std::to_string(ts)},
          {"webhook-signature", Sign(key, id, ts, body)}};
}

std::string ResultLabel(unsigned status) {
  return status == 0 ? "error" : fmt::format("{}xx", status / 100);
}

}  // namespace

struct Webhooks::Hook {
  WebhookOptions o;
  Url url;
  std::shared_ptr<asio::ssl::context> tls;
  std::unique_ptr<HttpPoster> poster;
  std::unique_ptr<asio::steady_timer> timer;
  mutable std::mutex mu;
  WebhookStatus status;  // counts and last results (name, url: set once)
  std::chrono::steady_clock::time_point warned_at{};
};

Webhooks::Webhooks(Options opts, events::Bus& bus, const Clock& clock)
    : opts_(std::move(opts)), bus_(bus), clock_(clock) {}

Webhooks::~Webhooks() {
  Stop();
}

Result<std::unique_ptr<Webhooks>, std::string> Webhooks::Create(Options opts, events::Bus& bus,
                                                                const Clock& clock) {
  std::unique_ptr<Webhooks> w(new Webhooks(std::move(opts), bus, clock));
  for (const auto& o : w->opts_.webhooks) {
    auto url = Url::Parse(o.url);
    if (!url) {
      return Fail("webhook " + o.name + ": " + url.error());
    }
    if (!url->https && !url->loopback()) {
      return Fail("webhook " + o.name + ": plain http is only for loopback receivers; use https");
    }
    auto h = std::make_unique<Hook>();
    h->o = o;
    h->url = std::move(url).value();
    if (h->url.https) {
      auto tls = MakeClientTls(o.ca_file);
      if (!tls) {
        return Fail("webhook " + o.name + ": " + tls.error());
      }
      h->tls = std::move(tls).value();
    }
    h->status.name = o.name;
    h->status.url = o.url;
    h->status.tenant = o.tenant;
    w->hooks_.push_back(std::move(h));
  }
  auto box = Outbox::Open(w->opts_.outbox_path);
  if (!box) {
    return Fail(box.error());
  }
  w->outbox_ = std::move(box).value();
  unsigned char nonce[8];
  RAND_bytes(nonce, sizeof nonce);
  std::uint64_t n = 0;
  for (unsigned char c : nonce) {
    n = (n << 8) | c;
  }
  w->nonce_ = Hex(n);
  return w;
}

void Webhooks::Start() {
  if (hooks_.empty() || thread_.joinable()) {
    return;
  }
  for (auto& h : hooks_) {
    h->poster = std::make_unique<HttpPoster>(ioc_.get_executor(), h->url, h->tls, h->o.timeout);
    h->timer = std::make_unique<asio::steady_timer>(ioc_);
    asio::co_spawn(ioc_, Run(this, h.get()), runtime::LogErrors("webhook sender"));
  }
  asio::co_spawn(ioc_, SyncLoop(this), runtime::LogErrors("webhook outbox sync"));
  thread_ = std::thread([this] {
    NameThisThread("webhooks");
    auto work = asio::make_work_guard(ioc_);
    ioc_.run();
  });
}

void Webhooks::Stop() {
  stopping_ = true;
  ioc_.stop();
  if (thread_.joinable()) {
    thread_.join();
  }
  // I/O objects go before the context; suspended senders die with it.
  for (auto& h : hooks_) {
    h->poster.reset();
    h->timer.reset();
  }
  if (outbox_) {
    outbox_->Sync();
  }
}

Webhooks::Hook* Webhooks::Find(const std::string& name) const {
  for (const auto& h : hooks_) {
    if (h->o.name == name) {
      return h.get();
    }
  }
  return nullptr;
}

bool Webhooks::Takes(const Hook& h, std::string_view type, std::string_view tenant) const {
  if (!h.o.tenant.empty() && h.o.tenant != tenant) {
    return false;
  }
  return h.o.events.empty() || h.o.events.count(std::string(type)) != 0;
}

std::string Webhooks::WithEventId(const std::string& json) {
  std::string out;
  out.reserve(json.size() + kIdPrefix.size() + kIdLength + 2);
  out += kIdPrefix;
  out += nonce_;
  out += Hex(next_event_.fetch_add(1, std::memory_order_relaxed));
  out += "\",";
  out.append(json, 1);  // past the '{'
  return out;
}

void Webhooks::OnRecord(std::string_view type, std::string_view tenant, const std::string& json) {
  if (json.size() < 2 || json.front() != '{') {
    return;
  }
  std::string with_id;
  for (auto& h : hooks_) {
    if (!Takes(*h, type, tenant)) {
      continue;
    }
    if (with_id.empty()) {
      with_id = WithEventId(json);
    }
    outbox_->Append(h->o.name, with_id, ToMicros(clock_.Now()));
  }
}

std::vector<WebhookStatus> Webhooks::Status() const {
  std::vector<WebhookStatus> out;
  for (const auto& h : hooks_) {
    WebhookStatus s;
    {
      std::lock_guard lock(h->mu);
      s = h->status;
    }
    s.pending = outbox_->Pending(h->o.name);
    s.oldest_us = s.pending == 0 ? 0 : outbox_->OldestUs(h->o.name);
    out.push_back(std::move(s));
  }
  return out;
}

awaitable<void> Webhooks::SyncLoop(Webhooks* self) {
  asio::steady_timer t(self->ioc_);
  while (!self->stopping_) {
    t.expires_after(std::chrono::seconds(1));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    self->outbox_->Sync();
  }
}

awaitable<void> Webhooks::Run(Webhooks* self, Hook* h) {
  Outbox& box = *self->outbox_;
  const WebhookOptions& o = h->o;
  std::mt19937_64 rng(std::random_device{}());
  std::chrono::milliseconds backoff{0};
  while (!self->stopping_) {
    std::chrono::milliseconds wait = kPoll;
    auto batch = box.Read(o.name, o.max_events, o.max_bytes);
    if (!batch.empty()) {
      const std::int64_t now_us = ToMicros(self->clock_.Now());
      const auto waited = std::chrono::microseconds(now_us - batch.front().at_us);
      const bool full = batch.size() >= o.max_events || box.Pending(o.name) > batch.size();
      if (full || waited >= o.max_wait) {
        const bool sent = co_await self->Send(*h, batch);
        if (sent) {
          backoff = std::chrono::milliseconds(0);
          continue;
        }
        const std::int64_t cutoff_us =
            now_us - std::chrono::duration_cast<std::chrono::microseconds>(o.max_age).count();
        if (batch.front().at_us < cutoff_us) {
          self->Drop(*h, batch, cutoff_us);
          backoff = std::chrono::milliseconds(0);
          continue;
        }
        // Exponential back-off, each wait drawn from its upper half so that
        // receivers coming back are not met by every sender at once.
        backoff = backoff.count() == 0 ? o.first_retry : std::min(o.max_retry, backoff * 2);
        std::uniform_int_distribution<std::int64_t> half(backoff.count() / 2, backoff.count());
        wait = std::chrono::milliseconds(half(rng));
      } else {
        wait = std::min(kPoll,
                        std::chrono::duration_cast<std::chrono::milliseconds>(o.max_wait - waited) +
                            std::chrono::milliseconds(1));
      }
    }
    h->timer->expires_after(wait);
    co_await h->timer->async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

awaitable<bool> Webhooks::Send(Hook& h, const std::vector<OutboxRecord>& batch) {
  std::string body = BatchBody(h.o.name, batch,
                               [](const OutboxRecord& r) -> const std::string& { return r.json; });
  // The same batch retried keeps its id: receivers can tell a retry.
  const std::string id = fmt::format("msg_{}_{}", EventIdOf(batch.front().json), batch.size());
  HttpPoster::Headers headers = SignedHeaders(h.o.key, id, clock_.Now(), body);
  const auto began = std::chrono::steady_clock::now();
  HttpPoster::Response r = co_await h.poster->Post(std::move(headers), std::move(body));
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  if (metrics_.post_seconds != nullptr) {
    metrics_.post_seconds->With({h.o.name}).Observe(took);
  }
  if (metrics_.posts != nullptr) {
    metrics_.posts->With({h.o.name, ResultLabel(r.status)}).Inc();
  }
  const bool ok = r.status >= 200 && r.status < 300;
  {
    std::lock_guard lock(h.mu);
    h.status.last_status = r.status;
    if (ok) {
      ++h.status.posts_ok;
      h.status.events_sent += batch.size();
      h.status.last_success_us = ToMicros(clock_.Now());
      h.status.last_error.clear();
    } else {
      ++h.status.posts_failed;
      h.status.last_error = r.status == 0 ? r.error : fmt::format("HTTP {}", r.status);
    }
  }
  if (ok) {
    outbox_->Ack(h.o.name, batch.back().seq);
    if (metrics_.events != nullptr) {
      metrics_.events->With({h.o.name, "sent"}).Inc(static_cast<double>(batch.size()));
    }
    co_return true;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now - h.warned_at > std::chrono::seconds(30)) {
    h.warned_at = now;
    spdlog::warn("webhook {}: POST of {} events failed ({}); retrying with back-off", h.o.name,
                 batch.size(), r.status == 0 ? r.error : fmt::format("HTTP {}", r.status));
  }
  co_return false;
}

void Webhooks::Drop(Hook& h, const std::vector<OutboxRecord>& batch, std::int64_t cutoff_us) {
  std::size_t n = 0;
  while (n < batch.size() && batch[n].at_us < cutoff_us) {
    ++n;
  }
  if (n == 0) {
    return;
  }
  outbox_->Ack(h.o.name, batch[n - 1].seq);
  std::string last_error;
  {
    std::lock_guard lock(h.mu);
    h.status.events_dropped += n;
    last_error = h.status.last_error;
  }
  if (metrics_.events != nullptr) {
    metrics_.events->With({h.o.name, "dropped"}).Inc(static_cast<double>(n));
  }
  spdlog::error("webhook {}: {} events older than max_age dropped unsent (last error: {})",
                h.o.name, n, last_error);
  bus_.Publish(events::WebhookDropped{h.o.name, n, FromMicros(batch.front().at_us), last_error,
                                      clock_.Now()});
}

awaitable<Result<TestResult, std::string>> Webhooks::Test(Webhooks* self, std::string name) {
  Hook* h = self->Find(name);
  if (h == nullptr) {
    co_return Fail("no webhook named " + name);
  }
  const auto now = self->clock_.Now();
  const std::string record = self->WithEventId(
      fmt::format("{{\"type\":\"Test\",\"timestamp\":\"{}\"}}", Rfc3339Micros(now)));
  std::string body = BatchBody(name, std::vector<std::string>{record},
                               [](const std::string& r) -> const std::string& { return r; });
  const std::string id = fmt::format("msg_{}_test", EventIdOf(record));
  HttpPoster::Headers headers = SignedHeaders(h->o.key, id, now, body);
  HttpPoster poster(self->ioc_.get_executor(), h->url, h->tls, h->o.timeout);
  HttpPoster::Response r = co_await poster.Post(std::move(headers), std::move(body));
  poster.Close();
  co_return TestResult{r.status, r.error, r.body};
}

Result<std::uint64_t, std::string> Webhooks::Replay(const std::string& name,
                                                    std::chrono::system_clock::time_point since,
                                                    const std::string& event_log) {
  Hook* h = Find(name);
  if (h == nullptr) {
    return Fail("no webhook named " + name);
  }
  // The closed files that may hold records since `since` (one closed
  // before then holds none), oldest first, then the open one.
  std::vector<std::string> files;
  for (const auto& f : events::ListRotated(event_log)) {
    auto closed = events::RotatedAt(event_log, f);
    if (!closed || *closed >= since) {
      files.push_back(f);
    }
  }
  files.push_back(event_log);
  std::uint64_t n = 0;
  for (const auto& file : files) {
    auto read = events::ReadLines(file, [&](std::string_view line) {
      boost::system::error_code ec;
      auto v = boost::json::parse(line, ec);
      if (ec || !v.is_object()) {
        return;
      }
      const auto& o = v.get_object();
      const auto* type = o.if_contains("type");
      const auto* ts = o.if_contains("timestamp");
      const auto* tenant = o.if_contains("tenant");
      if (type == nullptr || !type->is_string() || ts == nullptr || !ts->is_string() ||
          type->get_string() == "WebhookDropped") {
        return;
      }
      auto when = ParseRfc3339(ts->get_string());
      if (!when || *when < since) {
        return;
      }
      const std::string_view ten =
          tenant != nullptr && tenant->is_string() ? std::string_view(tenant->get_string()) : "";
      if (Takes(*h, type->get_string(), ten) &&
          outbox_->Append(name, WithEventId(std::string(line)), ToMicros(clock_.Now()))) {
        ++n;
      }
    });
    if (!read && file == event_log) {
      return Fail(read.error());
    }
  }
  return n;
}

}  // namespace sluice::webhook
