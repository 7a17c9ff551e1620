#include "delivery/dispatcher.h"

#include <algorithm>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace sluice::delivery {

namespace asio = boost::asio;
using asio::awaitable;
using queue::Clock;
using smtp::Reply;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

Clock::time_point FromMicros(std::int64_t us) {
  return Clock::time_point(std::chrono::microseconds(us));
}

// RFC 3463 codes for DNS outcomes.
Reply DnsReply(dns::DnsError e, const std::string& domain) {
  std::string text = domain + ": " + dns::ToString(e);
  switch (e) {
    case dns::DnsError::kNullMx:
      return {556, "5.1.10", text};  // RFC 7505 §4.2
    case dns::DnsError::kNxDomain:
    case dns::DnsError::kNoMailHost:
    case dns::DnsError::kBadName:
      return {550, "5.1.2", text};
    default:
      return {451, "4.4.3", text};
  }
}

void LogCoroutineError(std::exception_ptr e) {
  if (!e) {
    return;
  }
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("delivery task: {}", ex.what());
  }
}

}  // namespace

Dispatcher::Dispatcher(asio::io_context& ioc, Options opts, dns::Resolver& resolver,
                       spool::Spool& spool, events::Bus& bus)
    : ioc_(ioc),
      opts_(std::move(opts)),
      resolver_(resolver),
      spool_(spool),
      bus_(bus),
      tls_ctx_(smtp::MakeOpportunisticClientContext()),
      wake_(ioc) {}

Dispatcher::~Dispatcher() = default;

void Dispatcher::Start() {
  asio::co_spawn(ioc_, ScheduleLoop(this), LogCoroutineError);
}

void Dispatcher::Submit(spool::Meta meta) {
  asio::post(ioc_, [this, meta = std::move(meta)]() mutable {
    // One work item per destination domain among the pending recipients.
    std::map<std::string, std::vector<std::uint32_t>> by_domain;
    const auto& rcpts = meta.envelope.recipients;
    for (std::uint32_t i = 0; i < rcpts.size(); ++i) {
      if (!meta.IsDone(i)) {
        by_domain[rcpts[i].address.ascii_domain].push_back(i);
      }
    }
    if (by_domain.empty()) {
      // Every outcome was recorded before a restart: finish the removal.
      spool_.Remove(meta.id, [](Result<Ok, spool::SpoolError>) {});
      return;
    }
    meta.done.resize(rcpts.size(), 0);
    SpoolId id = meta.id;
    bool deferred = meta.attempts > 0;
    auto due = deferred ? FromMicros(meta.due_us) : Clock::now();
    auto& state = messages_[id];
    state.meta = std::move(meta);
    for (auto& [domain, idx] : by_domain) {
      ++state.open_items;
      AddWork(queue::WorkItem{id, domain, std::move(idx), due, deferred, state.meta.attempts});
    }
  });
}

void Dispatcher::AddWork(queue::WorkItem w) {
  scheduler_.Add(std::move(w));
  wake_.cancel();  // let the loop look at the new due time
}

awaitable<void> Dispatcher::ScheduleLoop(Dispatcher* self) {
  while (true) {
    auto now = Clock::now();
    while (auto w = self->scheduler_.PopDue(now)) {
      if (!self->DropFinished(*w)) {
        continue;
      }
      if (self->suspended_.count(w->domain) != 0) {
        self->held_[w->domain].push_back(std::move(*w));
        continue;
      }
      asio::co_spawn(self->ioc_, Route(self, std::move(*w)), LogCoroutineError);
    }
    auto next = self->scheduler_.NextDue();
    self->wake_.expires_at(next ? *next : Clock::time_point::max());
    co_await self->wake_.async_wait(kTuple);
  }
}

std::optional<RouteHost> ParseRouteHost(std::string_view text) {
  RouteHost h;
  std::string_view port;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    h.host = std::string(text.substr(0, close + 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return std::nullopt;
      }
      port = rest.substr(1);
      has_port = true;
    }
  } else {
    auto colon = text.find(':');
    h.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = text.substr(colon + 1);
      has_port = true;
    }
  }
  if (h.host.empty() || h.host == "[]" || (has_port && port.empty())) {
    return std::nullopt;
  }
  if (has_port) {
    unsigned v = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || (v = v * 10 + static_cast<unsigned>(c - '0')) > 65535) {
        return std::nullopt;
      }
    }
    if (v == 0) {
      return std::nullopt;
    }
    h.port = static_cast<std::uint16_t>(v);
  }
  return h;
}

awaitable<void> Dispatcher::Route(Dispatcher* self, queue::WorkItem w) {
  std::string site_name;
  std::vector<RouteHost> hosts;
  const auto& routes = self->opts_.routes;
  auto route = routes.find(w.domain);
  if (route == routes.end()) {
    route = routes.find("*");
  }
  if (route != routes.end()) {
    // A configured route: its own site, hosts in the configured order.
    site_name = "route:";
    for (const auto& h : route->second) {
      site_name +=
          (hosts.empty() ? "" : ",") + h.host + (h.port != 0 ? ":" + std::to_string(h.port) : "");
      hosts.push_back(h);
    }
  } else {
    auto mx = co_await self->resolver_.ResolveMx(w.domain);
    if (!mx) {
      self->FailItem(std::move(w), DnsReply(mx.error(), w.domain), nullptr);
      co_return;
    }
    site_name = mx->Site();
    for (auto& h : mx->hosts) {
      hosts.push_back({std::move(h.host), 0});
    }
  }
  auto& slot = self->sites_[site_name];
  if (!slot) {
    slot = std::make_unique<Site>();
    slot->name = site_name;
  }
  slot->hosts = std::move(hosts);
  slot->ready.push_back(std::move(w));
  spdlog::debug("site {}: {} ready, {} connections", site_name, slot->ready.size(), slot->active);
  self->Kick(*slot);
}

void Dispatcher::Kick(Site& site) {
  for (auto* t : site.idle) {
    t->cancel();  // wake idle connections
  }
  // Each running connection takes one waiting item next; open more while the
  // ready queue is longer than that, up to the limit.
  while (site.active < opts_.connection_limit && site.ready.size() > site.active) {
    ++site.active;
    asio::co_spawn(ioc_, RunConnection(this, &site), LogCoroutineError);
  }
}

awaitable<Result<std::shared_ptr<smtp::ClientConnection>, Reply>> Dispatcher::Connect(Site& site) {
  Reply last{451, "4.4.1", site.name + ": no mail exchanger reachable"};
  // A copy: Route() may replace site.hosts while this coroutine waits.
  const std::vector<RouteHost> hosts = site.hosts;
  for (const auto& mx : hosts) {
    std::vector<std::string> addrs;
    if (!mx.host.empty() && mx.host.front() == '[') {
      std::string lit = mx.host.substr(1, mx.host.size() - 2);
      if (lit.rfind("ipv6:", 0) == 0 || lit.rfind("IPv6:", 0) == 0) {
        lit = lit.substr(5);
      }
      addrs.push_back(lit);
    } else {
      auto r = co_await resolver_.ResolveAddresses(mx.host);
      if (!r || r->empty()) {
        last = {451, "4.4.3", mx.host + ": " + (r ? "no address" : dns::ToString(r.error()))};
        continue;
      }
      addrs = std::move(r).value();
    }
    for (const auto& ip : addrs) {
      std::uint16_t port = mx.port != 0 ? mx.port : opts_.port;
      spdlog::debug("site {}: connecting to {}[{}]:{}", site.name, mx.host, ip, port);
      auto c = co_await smtp::ClientConnection::Open(ioc_.get_executor(), ip, port, mx.host,
                                                     opts_.client, tls_ctx_);
      if (c) {
        ++stats_.connections;
        co_return std::move(c).value();
      }
      const auto& f = c.error();
      if (f.reply) {
        // A refusing greeting or EHLO: try the next host, but report what it said
        // as a deferral (RFC 5321 §3.9: 421 means try later).
        last = {451, f.reply->enhanced.empty() ? "4.4.0" : "4" + f.reply->enhanced.substr(1),
                fmt::format("{}[{}] {}: {} {}", mx.host, ip, smtp::ToString(f.stage), f.reply->code,
                            f.reply->text)};
      } else {
        last = {451, "4.4.1", fmt::format("{}[{}]: {}", mx.host, ip, f.detail)};
      }
    }
  }
  co_return Fail(last);
}

awaitable<void> Dispatcher::RunConnection(Dispatcher* self, Site* site) {
  std::shared_ptr<smtp::ClientConnection> conn;
  std::uint32_t sent = 0;
  while (true) {
    if (site->ready.empty()) {
      if (!conn || !conn->usable()) {
        break;
      }
      // Idle: keep the connection for more mail to this site, for a while. A
      // wake-up whose work another connection took first waits out the rest.
      asio::steady_timer idle(self->ioc_);
      auto until = std::chrono::steady_clock::now() + self->opts_.idle_timeout;
      site->idle.insert(&idle);
      while (site->ready.empty() && std::chrono::steady_clock::now() < until) {
        idle.expires_at(until);
        co_await idle.async_wait(kTuple);
      }
      site->idle.erase(&idle);
      if (site->ready.empty()) {
        break;
      }
      continue;
    }
    if (!conn || !conn->usable() || sent >= self->opts_.max_deliveries_per_connection) {
      if (conn) {
        co_await conn->Quit();
        conn.reset();
      }
      auto opened = co_await self->Connect(*site);
      if (!opened) {
        // Dead destination: defer what waits for it rather than retrying each now.
        while (!site->ready.empty()) {
          queue::WorkItem w = std::move(site->ready.front());
          site->ready.pop_front();
          self->FailItem(std::move(w), opened.error(), site);
        }
        break;
      }
      conn = std::move(opened).value();
      sent = 0;
    }
    if (site->ready.empty()) {
      continue;  // another connection took the work while this one connected
    }
    queue::WorkItem w = std::move(site->ready.front());
    site->ready.pop_front();
    co_await self->Deliver(*conn, *site, std::move(w));
    ++sent;
  }
  if (conn) {
    co_await conn->Quit();
  }
  --site->active;
  if (!site->ready.empty()) {
    self->Kick(*site);
  }
}

void Dispatcher::Record(events::OutcomeType type, MessageState& m, std::uint32_t rcpt,
                        const queue::WorkItem& w, const Reply& r, const Site* site,
                        const smtp::ClientConnection* conn, std::chrono::milliseconds took) {
  events::Outcome o;
  o.type = type;
  o.id = m.meta.id.Hex();
  o.sender = m.meta.envelope.sender.ToString();
  o.recipient = m.meta.envelope.recipients[rcpt].address.ToString();
  o.queue = w.domain;
  o.site = site ? site->name : "";
  if (conn) {
    o.mx_host = conn->mx_host();
    o.mx_ip = conn->peer_ip();
    o.tls_version = conn->tls_info().version;
    o.tls_cipher = conn->tls_info().cipher;
  }
  o.egress_source = opts_.client.source_address;
  o.attempt = w.attempts + 1;
  o.code = r.code;
  o.enhanced = r.enhanced;
  o.text = r.text;
  o.timestamp = Clock::now();
  o.received = FromMicros(m.meta.received_us);
  o.duration = took;
  bus_.Publish(o);
  const Recipient& recipient = m.meta.envelope.recipients[rcpt];
  bounce::ReportedRecipient f;
  f.recipient = o.recipient;
  f.orcpt = recipient.orcpt;
  f.status = r.enhanced.empty() ? fmt::format("{}.0.0", r.code / 100) : r.enhanced;
  f.remote_mta = o.mx_host;
  f.diagnostic = r.enhanced.empty() ? fmt::format("{} {}", r.code, r.text)
                                    : fmt::format("{} {} {}", r.code, r.enhanced, r.text);
  f.last_attempt = o.timestamp;
  const auto& env = m.meta.envelope;
  using bounce::ReportAction;
  switch (type) {
    case events::OutcomeType::kBounce:
    case events::OutcomeType::kExpiration:
      if (bounce::WantsReport(env, recipient, ReportAction::kFailed)) {
        f.expired = type == events::OutcomeType::kExpiration;
        if (f.expired) {
          f.status = "4.4.7";  // RFC 3463: delivery time expired
        }
        m.failed.push_back(std::move(f));
      }
      break;
    case events::OutcomeType::kTransientFailure: {
      std::uint8_t& flags = m.meta.done[rcpt];
      if (opts_.delay_warning.count() > 0 && (flags & spool::Meta::kDelayReported) == 0 &&
          o.timestamp - o.received >= opts_.delay_warning &&
          bounce::WantsReport(env, recipient, ReportAction::kDelayed)) {
        flags |= spool::Meta::kDelayReported;
        f.retry_until = o.received + opts_.retry.max_age;
        m.delayed.push_back(std::move(f));
      }
      break;
    }
    case events::OutcomeType::kDelivery:
      // RFC 3461 §5.2.2: a next hop that speaks DSN was handed NOTIFY and
      // reports success itself; for one that does not, we say "relayed".
      if (conn && !conn->capabilities().dsn &&
          bounce::WantsReport(env, recipient, ReportAction::kRelayed)) {
        m.relayed.push_back(std::move(f));
      }
      break;
    default:
      break;
  }
}

void Dispatcher::SendReports(MessageState& m) {
  if (!m.failed.empty()) {
    SendReport(m, bounce::ReportAction::kFailed, std::exchange(m.failed, {}));
  }
  if (!m.delayed.empty()) {
    SendReport(m, bounce::ReportAction::kDelayed, std::exchange(m.delayed, {}));
  }
  if (!m.relayed.empty()) {
    SendReport(m, bounce::ReportAction::kRelayed, std::exchange(m.relayed, {}));
  }
}

void Dispatcher::SendReport(MessageState& m, bounce::ReportAction action,
                            std::vector<bounce::ReportedRecipient> recipients) {
  bounce::DsnInput in;
  in.action = action;
  SpoolId report_id = SpoolId::Generate();
  in.reporting_mta = opts_.client.ehlo_name;
  in.message_id = report_id.Hex();
  in.original = m.meta.envelope;
  in.arrival = FromMicros(m.meta.received_us);
  in.recipients = std::move(recipients);
  in.now = Clock::now();
  if (auto data = spool_.ReadData(m.meta.id)) {
    in.original_message = std::move(data).value();
  }
  std::string report = bounce::BuildReport(in);

  spool::Meta meta;
  meta.id = report_id;
  // RFC 3461 §6.2 / RFC 5321 §4.5.5: reports go out from the null sender.
  Recipient to;
  to.address = m.meta.envelope.sender;
  meta.envelope.recipients.push_back(std::move(to));
  meta.envelope.body = bounce::ReportIs8Bit(in) ? BodyType::k8BitMime : BodyType::k7Bit;
  meta.received_us =
      std::chrono::duration_cast<std::chrono::microseconds>(in.now.time_since_epoch()).count();
  meta.due_us = meta.received_us;
  meta.listener = "dsn";
  meta.size = report.size();
  spdlog::info("{} report {} for {} to <{}>",
               action == bounce::ReportAction::kFailed    ? "failure"
               : action == bounce::ReportAction::kDelayed ? "delay"
                                                          : "relay",
               report_id.Hex(), m.meta.id.Hex(),
               m.meta.envelope.sender.ToString());
  spool_.Store(meta, {}, std::move(report), [this, meta](Result<Ok, spool::SpoolError> r) {
    if (!r) {
      spdlog::error("cannot spool failure report {}: {}", meta.id.Hex(),
                    spool::ToString(r.error()));
      return;
    }
    Submit(meta);
  });
}

awaitable<bool> Dispatcher::Deliver(smtp::ClientConnection& conn, Site& site, queue::WorkItem w) {
  if (!DropFinished(w)) {
    co_return true;
  }
  auto it = messages_.find(w.id);
  auto data = spool_.ReadData(w.id);
  if (!data) {
    FailItem(std::move(w), Reply{451, "4.3.0", "spool read failed"}, &site);
    co_return true;
  }
  std::vector<std::uint32_t> pending;
  const std::size_t per_txn = std::max<std::uint32_t>(1, opts_.max_recipients_per_transaction);
  for (std::size_t start = 0; start < w.recipients.size(); start += per_txn) {
    std::vector<std::size_t> chunk(
        w.recipients.begin() + static_cast<std::ptrdiff_t>(start),
        w.recipients.begin() +
            static_cast<std::ptrdiff_t>(std::min(w.recipients.size(), start + per_txn)));
    auto began = std::chrono::steady_clock::now();
    auto result = co_await conn.Send(it->second.meta.envelope, chunk, data.value());
    ++stats_.transactions;
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - began);
    // The message may have been finished meanwhile (never by this item's recipients).
    it = messages_.find(w.id);
    if (it == messages_.end()) {
      co_return false;
    }
    for (std::size_t k = 0; k < chunk.size(); ++k) {
      auto rcpt = static_cast<std::uint32_t>(chunk[k]);
      const Reply& r = result.recipients[k];
      if (r.code / 100 == 2) {
        Record(events::OutcomeType::kDelivery, it->second, rcpt, w, r, &site, &conn, took);
        it->second.meta.done[rcpt] |= spool::Meta::kFinal;
      } else if (r.code >= 500) {
        Record(events::OutcomeType::kBounce, it->second, rcpt, w, r, &site, &conn, took);
        it->second.meta.done[rcpt] |= spool::Meta::kFinal;
      } else {
        Record(events::OutcomeType::kTransientFailure, it->second, rcpt, w, r, &site, &conn, took);
        pending.push_back(rcpt);
      }
    }
    if (!result.connection_usable) {
      for (std::size_t j = start + chunk.size(); j < w.recipients.size(); ++j) {
        pending.push_back(w.recipients[j]);
      }
      break;
    }
  }
  FinishItem(std::move(w), std::move(pending));
  co_return true;
}

bool Dispatcher::DropFinished(queue::WorkItem& w) {
  auto it = messages_.find(w.id);
  if (it == messages_.end()) {
    return false;
  }
  MessageState& m = it->second;
  std::erase_if(w.recipients, [&](std::uint32_t r) { return m.meta.IsDone(r); });
  if (!w.recipients.empty()) {
    return true;
  }
  --m.open_items;
  Persist(m);
  return false;
}

QueueSummary Dispatcher::Summary() const {
  QueueSummary out;
  std::map<std::string, QueueSummary::Queue> queues;
  for (const auto& [id, m] : messages_) {
    std::set<std::string> seen;
    const auto& rcpts = m.meta.envelope.recipients;
    for (std::size_t i = 0; i < rcpts.size(); ++i) {
      if (m.meta.IsDone(i)) {
        continue;
      }
      auto& q = queues[rcpts[i].address.ascii_domain];
      q.recipients++;
      if (seen.insert(rcpts[i].address.ascii_domain).second) {
        q.messages++;
        q.oldest_us =
            q.oldest_us == 0 ? m.meta.received_us : std::min(q.oldest_us, m.meta.received_us);
      }
    }
  }
  for (auto& [name, q] : queues) {
    q.name = name;
    q.suspended = suspended_.count(name) != 0;
    out.queues.push_back(q);
  }
  for (const auto& [name, site] : sites_) {
    out.sites.push_back({name, site->ready.size(), site->active});
  }
  return out;
}

std::size_t Dispatcher::Flush(const std::string& domain) {
  std::size_t n = scheduler_.Flush(domain, Clock::now());
  wake_.cancel();
  return n;
}

void Dispatcher::Suspend(const std::string& domain) {
  suspended_.insert(domain);
}

std::size_t Dispatcher::Resume(const std::string& domain) {
  suspended_.erase(domain);
  auto it = held_.find(domain);
  if (it == held_.end()) {
    return 0;
  }
  std::size_t n = it->second.size();
  for (auto& w : it->second) {
    w.due = Clock::now();
    AddWork(std::move(w));
  }
  held_.erase(it);
  return n;
}

std::size_t Dispatcher::AdminBounce(const std::string& target) {
  auto id = SpoolId::FromHex(target);
  std::size_t n = 0;
  std::vector<SpoolId> touched;
  for (auto& [mid, m] : messages_) {
    if (id && mid != *id) {
      continue;
    }
    const auto& rcpts = m.meta.envelope.recipients;
    bool any = false;
    for (std::uint32_t i = 0; i < rcpts.size(); ++i) {
      if (m.meta.IsDone(i) || (!id && rcpts[i].address.ascii_domain != target)) {
        continue;
      }
      queue::WorkItem w{
          mid, rcpts[i].address.ascii_domain, {i}, Clock::now(), false, m.meta.attempts};
      Record(events::OutcomeType::kAdminBounce, m, i, w,
             Reply{550, "5.0.0", "administratively bounced"}, nullptr, nullptr, {});
      m.meta.done[i] |= spool::Meta::kFinal;
      any = true;
      ++n;
    }
    if (any) {
      touched.push_back(mid);
    }
  }
  // Record the outcomes now; the work items close as they come up, which the
  // flush makes immediate (held items of a suspended domain close here).
  for (const auto& mid : touched) {
    auto it = messages_.find(mid);
    if (it != messages_.end()) {
      Persist(it->second);
    }
  }
  for (auto& [domain, items] : held_) {
    std::erase_if(items, [this](queue::WorkItem& w) { return !DropFinished(w); });
  }
  Flush(id ? std::string() : target);
  return n;
}

void Dispatcher::FailItem(queue::WorkItem w, const Reply& r, const Site* site) {
  auto it = messages_.find(w.id);
  if (it == messages_.end()) {
    return;
  }
  std::vector<std::uint32_t> pending;
  for (auto rcpt : w.recipients) {
    if (r.code >= 500) {
      Record(events::OutcomeType::kBounce, it->second, rcpt, w, r, site, nullptr, {});
      it->second.meta.done[rcpt] |= spool::Meta::kFinal;
    } else {
      Record(events::OutcomeType::kTransientFailure, it->second, rcpt, w, r, site, nullptr, {});
      pending.push_back(rcpt);
    }
  }
  FinishItem(std::move(w), std::move(pending));
}

void Dispatcher::FinishItem(queue::WorkItem w, std::vector<std::uint32_t> pending) {
  auto it = messages_.find(w.id);
  if (it == messages_.end()) {
    return;
  }
  MessageState& m = it->second;
  ++w.attempts;
  m.meta.attempts = std::max(m.meta.attempts, w.attempts);
  auto now = Clock::now();
  if (!pending.empty() && now - FromMicros(m.meta.received_us) >= opts_.retry.max_age) {
    Reply expired{451, "4.4.7",
                  "message expired after " + std::to_string(w.attempts) + " attempts"};
    for (auto rcpt : pending) {
      Record(events::OutcomeType::kExpiration, m, rcpt, w, expired, nullptr, nullptr, {});
      m.meta.done[rcpt] |= spool::Meta::kFinal;
    }
    pending.clear();
  }
  SendReports(m);
  if (pending.empty()) {
    --m.open_items;
  } else {
    w.recipients = std::move(pending);
    w.deferred = true;
    w.due = now + queue::RetryDelay(opts_.retry, w.attempts, rng_);
    m.meta.due_us =
        std::chrono::duration_cast<std::chrono::microseconds>(w.due.time_since_epoch()).count();
    AddWork(std::move(w));
  }
  Persist(m);
}

void Dispatcher::Persist(MessageState& m) {
  bool all_done =
      std::all_of(m.meta.done.begin(), m.meta.done.end(),
                  [](std::uint8_t d) { return (d & spool::Meta::kFinal) != 0; });
  if (all_done && m.open_items == 0) {
    SpoolId id = m.meta.id;
    spool_.Remove(id, [id](Result<Ok, spool::SpoolError> r) {
      if (!r) {
        spdlog::error("spool remove {}: {}", id.Hex(), spool::ToString(r.error()));
      }
    });
    messages_.erase(id);
    return;
  }
  spool_.UpdateMeta(m.meta, [id = m.meta.id](Result<Ok, spool::SpoolError> r) {
    if (!r) {
      spdlog::error("spool update {}: {}", id.Hex(), spool::ToString(r.error()));
    }
  });
}

}  // namespace sluice::delivery
