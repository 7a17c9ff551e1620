// The connection half of the dispatcher: a path's connections, each taking
// items from the path's ready queue until it is empty for a while, the path
// is suspended, or the path may have fewer connections now.
#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bounce/verp.h"
#include "delivery/dispatcher.h"
#include "delivery/tls_policy.h"
#include "metrics/metrics.h"
#include "runtime/blocking.h"
#include "runtime/log_errors.h"
#include "spool/data_chunks.h"
#include "tlsrpt/ledger.h"

namespace sluice::delivery {

namespace asio = boost::asio;
using asio::awaitable;
using smtp::Reply;
using Steady = Clock::Steady;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

void Dispatcher::Kick(ReadyQueue& q) {
  const auto now = parts_.clock.SteadyNow();
  if (q.path.Suspended(now)) {
    WakeAt(q, q.path.suspended_until());  // its mail waits in the ready queue
    return;
  }
  // Each busy connection takes one waiting item next; wake idle ones for the
  // rest (only as many as there are items: the others keep waiting), and open
  // more while the ready queue is longer than all of them, up to the limit.
  const std::size_t busy = q.active - q.idle_connections();
  if (q.size() > busy) {
    q.WakeIdle(q.size() - busy);
  }
  while (q.active < q.path.ConnectionLimit() && q.size() > q.active) {
    ++q.active;
    q.last_active = now;
    asio::co_spawn(ioc_, RunConnection(this, &q), runtime::LogErrors{"delivery task"});
  }
}

void Dispatcher::WakeAt(ReadyQueue& q, Steady::time_point at) {
  const auto now = parts_.clock.SteadyNow();
  if (!q.wake) {
    q.wake = std::make_unique<asio::steady_timer>(ioc_);
  } else if (q.wake->expiry() > now && q.wake->expiry() <= at) {
    return;  // an earlier wake-up is armed; it re-arms for what remains
  }
  q.wake->expires_at(at);
  q.wake->async_wait([this, p = &q](boost::system::error_code ec) {
    if (ec) {
      return;
    }
    const auto at_wake = parts_.clock.SteadyNow();
    p->path.Tick(at_wake);  // a rule's limit may have run out
    if (auto next = p->path.NextChange(at_wake)) {
      WakeAt(*p, *next);
    }
    Kick(*p);
  });
}

awaitable<void> Dispatcher::SleepUntil(Steady::time_point at) {
  if (at <= parts_.clock.SteadyNow()) {
    co_return;
  }
  asio::steady_timer t(ioc_);
  t.expires_at(at);
  co_await t.async_wait(kTuple);
}

void Dispatcher::CountTlsFailure(const ReadyQueue& q, std::string_view policy,
                                 std::string_view result) {
  if (parts_.metrics.tls_failures != nullptr) {
    parts_.metrics.tls_failures->With({q.provider, policy, result}).Inc();
  }
}

void Dispatcher::ReportSession(const std::string& domain, const tlsrpt::Policy& policy,
                               const tlsrpt::Failure& failure) {
  if (parts_.tls_reports == nullptr || domain.empty()) {
    return;
  }
  if (failure.result_type.empty()) {
    parts_.tls_reports->Success(parts_.clock.Now(), domain, policy);
  } else {
    parts_.tls_reports->Failure(parts_.clock.Now(), domain, policy, failure);
  }
}

awaitable<Result<std::unique_ptr<Connection>, Reply>> Dispatcher::Connect(ReadyQueue& q) {
  Reply last{451, "4.4.1", q.name() + ": no mail exchanger reachable"};
  // A copy: a new route may replace the hosts while this coroutine waits.
  const std::vector<RouteHost> hosts = q.hosts;
  const shaping::EgressSource& src = egress_.source(q.path.source());
  // RFC 8460: sessions are reported to the recipient domain of the mail
  // that opened them (a site's connections may carry other domains' too);
  // not those to a configured route or smarthost (our own next hop, not
  // the domain's MX hosts).
  const bool configured_route = q.path.route_site().find("route:") != std::string::npos;
  const std::string report_domain = q.empty() || configured_route
                                        ? std::string()
                                        : parts_.queue.names().DomainName(q.front().queue);
  for (const auto& mx : hosts) {
    std::vector<std::string> addrs;
    if (!mx.host.empty() && mx.host.front() == '[') {
      std::string lit = mx.host.substr(1, mx.host.size() - 2);
      if (lit.rfind("ipv6:", 0) == 0 || lit.rfind("IPv6:", 0) == 0) {
        lit = lit.substr(5);
      }
      addrs.push_back(lit);
    } else {
      auto r = co_await parts_.resolver.ResolveAddresses(mx.host);
      if (!r || r->empty()) {
        last = {451, "4.4.3", mx.host + ": " + (r ? "no address" : dns::ToString(r.error()))};
        continue;
      }
      addrs = std::move(r).value();
    }
    const std::uint16_t port = mx.port != 0 ? mx.port : opts_.port;
    // The host's TLS policy: DANE records looked up when they may apply.
    // RFC 8689 §5: mail saying "TLS-Required: No" sets the receiver's
    // policies (DANE, MTA-STS) aside; TLS is still tried.
    const auto configured = TlsForPath(q.path.settings().tls, q.tls_optional);
    std::optional<Result<dns::TlsaSet, dns::DnsError>> tlsa;
    if (!q.tls_optional && WantsTlsa(configured, opts_.dane, mx.host)) {
      tlsa = co_await parts_.resolver.ResolveTlsa(mx.host, port);
    }
    auto host_tls = DecideHostTls(configured, mx.host, tlsa ? &*tlsa : nullptr,
                                  q.tls_optional ? nullptr : q.sts.get());
    if (host_tls && q.tls_optional && host_tls->policy == "opportunistic") {
      host_tls->policy = "tls-required-no";
    }
    const auto reported = [&](const std::string& policy) {
      return ReportedPolicy(policy, mx.host, tlsa ? &*tlsa : nullptr, q.sts.get());
    };
    if (!host_tls) {
      CountTlsFailure(q, host_tls.error().policy, host_tls.error().result_type);
      ReportSession(report_domain, reported(host_tls.error().policy),
                    {host_tls.error().result_type, src.address, mx.host, ""});
      q.tls_policy = host_tls.error().policy;
      last = host_tls.error().reply;
      spdlog::info("path {}: {} not used: {}", q.name(), mx.host, last.text);
      continue;
    }
    q.tls_policy = host_tls->policy;
    for (const auto& ip : addrs) {
      spdlog::debug("path {}: connecting to {}[{}]:{} (TLS {})", q.name(), mx.host, ip, port,
                    host_tls->policy);
      auto slot = q.path.ReserveConnection(parts_.clock.SteadyNow());
      co_await SleepUntil(slot);
      smtp::ClientOptions client = opts_.client;
      client.source_address = src.address;
      client.ehlo_name = src.ehlo_name;
      client.tls = host_tls->tls;
      client.auth = host_tls->auth;
      client.auth_enforced = host_tls->enforced;
      auto c = co_await parts_.connector.Open(ip, port, mx.host, std::move(client));
      const auto& m = parts_.metrics;
      if (m.connections != nullptr) {
        m.connections->With({q.provider, src.name, c ? "opened" : "failed"}).Inc();
      }
      if (c) {
        ++stats_.connections;
        Connection& conn = *c.value();
        conn.tls_policy = host_tls->policy;
        // RFC 8460 §4.3.2.1: a session without TLS failed to negotiate it.
        std::string failure = conn.tls_failure;
        if (failure.empty() && conn.tls_info().version.empty()) {
          failure = "starttls-not-supported";
        }
        if (!failure.empty() && host_tls->auth.kind != tls::PeerAuth::Kind::kNone) {
          // A policy that checks let the session pass (MTA-STS testing mode).
          CountTlsFailure(q, host_tls->policy, failure);
          spdlog::info("path {}: {}[{}] not authenticated ({}), used under {}", q.name(), mx.host,
                       ip, failure, host_tls->policy);
        }
        if (host_tls->tls != smtp::TlsPolicy::kDisabled) {  // TLS not even tried
          ReportSession(report_domain, reported(host_tls->policy),
                        {std::move(failure), src.address, mx.host, ip});
        }
        if (m.tls != nullptr) {
          const std::string& v = conn.tls_info().version;
          m.tls
              ->With({q.provider, v.empty() ? std::string_view("none") : std::string_view(v),
                      host_tls->policy})
              .Inc();
        }
        co_return std::move(c).value();
      }
      const auto& f = c.error();
      if (!f.tls_result.empty() && (host_tls->tls == smtp::TlsPolicy::kRequired ||
                                    host_tls->auth.kind != tls::PeerAuth::Kind::kNone)) {
        CountTlsFailure(q, host_tls->policy, f.tls_result);
      }
      if (!f.tls_result.empty()) {
        ReportSession(report_domain, reported(host_tls->policy),
                      {f.tls_result, src.address, mx.host, ip});
      }
      if (f.reply) {
        // A refusing greeting or EHLO: try the next host, but report what it
        // said as a deferral (RFC 5321 §3.9: 421 means try later). A 4xx
        // keeps its code (421 tells the shaping what happened).
        last = {f.reply->code / 100 == 4 ? f.reply->code : 451,
                f.reply->enhanced.empty() ? "4.4.0" : "4" + f.reply->enhanced.substr(1),
                fmt::format("{}[{}] {}: {} {}", mx.host, ip, smtp::ToString(f.stage), f.reply->code,
                            f.reply->text)};
      } else {
        // RFC 3463 §3.8: X.7.5 when the server could not be authenticated.
        last = {451, f.tls_result.empty() ? "4.4.1" : "4.7.5",
                fmt::format("{}[{}]: {}", mx.host, ip, f.detail)};
      }
    }
  }
  co_return Fail(last);
}

awaitable<void> Dispatcher::RunConnection(Dispatcher* self, ReadyQueue* q) {
  auto& clock = self->parts_.clock;
  auto& queue = self->parts_.queue;
  const auto& names = queue.names();
  std::unique_ptr<Connection> conn;
  std::uint32_t sent = 0;
  while (true) {
    if (q->path.Suspended(clock.SteadyNow()) || q->active > q->path.ConnectionLimit()) {
      break;  // a rule, a back-off or a 421 says: fewer connections now
    }
    // Mail of a tenant or campaign suspended on the site since it was queued
    // goes back to the schedule, rather than open a connection for it.
    while (!q->empty()) {
      const auto& front = q->front();
      auto until = self->parts_.shaper.GroupSuspended(
          names.Tenant(front.queue), names.Campaign(front.queue), q->path.route_site());
      if (!until) {
        break;
      }
      self->HoldFor(*q, q->Pop(), *until);
    }
    if (q->empty()) {
      if (!conn || !conn->usable()) {
        break;
      }
      // Idle: keep the connection for more mail to this site, for a while. A
      // wake-up whose work another connection took first waits out the rest.
      asio::steady_timer idle(self->ioc_);
      const auto until = std::chrono::steady_clock::now() + q->path.settings().idle_timeout;
      while (q->empty() && std::chrono::steady_clock::now() < until &&
             !q->path.Suspended(clock.SteadyNow())) {
        idle.expires_at(until);
        q->WaitIdle(&idle);
        co_await idle.async_wait(kTuple);
        q->StopIdle(&idle);
      }
      if (q->empty()) {
        break;
      }
      continue;
    }
    if (!conn || !conn->usable() || sent >= q->path.settings().max_deliveries_per_connection) {
      if (conn) {
        co_await conn->Quit();
        conn.reset();
      }
      auto opened = co_await self->Connect(*q);
      if (!opened) {
        // What the receiver said (or what went wrong) may match a rule; the
        // path backs off (dead destination).
        self->Observe(*q, opened.error(), nullptr);
        std::vector<shaping::Announcement> what;
        self->parts_.shaper.OnConnectFailed(q->path, what);
        self->Announce(*q, what, &opened.error());
        if (auto next = q->path.NextChange(clock.SteadyNow())) {
          self->WakeAt(*q, *next);
        }
        // Defer what waits for the path, and what is parked for it, rather
        // than try each again now.
        for (std::size_t n = 1; !q->empty(); ++n) {
          self->FailItem(q->Pop(), opened.error(), q);
          if (n % 256 == 0) {
            co_await asio::post(self->ioc_, asio::use_awaitable);
          }
        }
        for (std::uint32_t domain : std::exchange(q->parked(), {})) {
          for (const auto& w : queue.Unpark(domain, SIZE_MAX)) {
            self->FailItem(w, opened.error(), nullptr);
          }
        }
        break;
      }
      conn = std::move(opened).value();
      sent = 0;
      self->parts_.shaper.OnConnected(q->path);
    }
    if (q->empty()) {
      continue;  // another connection took the work while this one connected
    }
    if (auto free_at = q->path.NextMessageSlot(clock.SteadyNow())) {
      if (*free_at - clock.SteadyNow() > q->path.settings().idle_timeout) {
        // A long wait for the next slot: do not hold the receiver's session
        // meanwhile (it would drop it); connect again when the slot comes.
        co_await conn->Quit();
        conn.reset();
        co_await self->SleepUntil(*free_at);
        continue;
      }
    }
    queue::WorkItem w = q->Pop();
    self->Refill(*q);
    if (auto until = self->parts_.shaper.GroupSuspended(
            names.Tenant(w.queue), names.Campaign(w.queue), q->path.route_site())) {
      // Its tenant or campaign was suspended on this site after it was queued.
      self->HoldFor(*q, w, *until);
      continue;
    }
    const auto slot = q->path.ReserveMessage(clock.SteadyNow());
    co_await self->SleepUntil(slot);
    if (queue.Suspended(w.queue)) {
      // An operator suspended it while it waited for its slot.
      self->GiveBackWarmup(*q);
      queue.Hold(w);
      continue;
    }
    co_await self->Deliver(*conn, *q, w);
    ++sent;
  }
  if (conn) {
    co_await conn->Quit();
  }
  --q->active;
  q->last_active = clock.SteadyNow();
  if (!q->empty()) {
    self->Kick(*q);
  }
}

awaitable<Dispatcher::Loaded> Dispatcher::Load(const queue::WorkItem& w) {
  auto& queue = parts_.queue;
  auto& spool = parts_.spool;
  const SpoolId id = w.id;
  Loaded out;
  if (parts_.reads == nullptr) {
    out.message = queue.Acquire(w);
    if (out.message != nullptr) {
      out.first = spool.ReadDataChunk(id, 0);
    }
    co_return out;
  }
  // What is in memory (recent mail: the spool's memtables and block cache)
  // is read here; what would need the disk, in one trip off this thread.
  using Meta = Result<spool::Meta, spool::SpoolError>;
  using Chunk = Result<std::string, spool::SpoolError>;
  const auto would_block = [](const auto& r) {
    return !r && r.error() == spool::SpoolError::kWouldBlock;
  };
  // A write of the message while this waits makes the metadata read stale:
  // the queue manager then reads it again (BeginRead ... AcquireRead).
  std::optional<Meta> meta;
  if (!queue.InMemory(id)) {
    queue.BeginRead(id);
    meta = spool.ReadMetaCached(id);
  }
  Chunk first = spool.ReadDataChunkCached(id, 0);
  const bool meta_from_disk = meta && would_block(*meta);
  const bool chunk_from_disk = would_block(first);
  if (meta_from_disk || chunk_from_disk) {
    auto read = [&spool, id, meta_from_disk, chunk_from_disk] {
      std::pair<std::optional<Meta>, std::optional<Chunk>> r;
      if (meta_from_disk) {
        r.first = spool.ReadMeta(id);
      }
      if (chunk_from_disk) {
        r.second = spool.ReadDataChunk(id, 0);
      }
      return r;
    };
    auto got = co_await runtime::RunBlocking(*parts_.reads, read);
    if (meta_from_disk) {
      meta = std::move(*got.first);
    }
    if (chunk_from_disk) {
      first = std::move(*got.second);
    }
  }
  out.message = meta ? queue.AcquireRead(w, std::move(*meta)) : queue.Acquire(w);
  out.first = std::move(first);
  co_return out;
}

awaitable<void> Dispatcher::Deliver(Connection& conn, ReadyQueue& q, queue::WorkItem w) {
  auto& queue = parts_.queue;
  Loaded loaded = co_await Load(w);
  queue::MessageState* m = loaded.message;
  if (m == nullptr) {
    GiveBackWarmup(q);
    co_return;  // finished meanwhile
  }
  std::vector<std::uint32_t> todo = queue.PendingFor(*m, w.queue);
  if (todo.empty()) {
    GiveBackWarmup(q);
    queue.Release(*m);
    co_return;
  }
  // The message is sent a piece (1 MiB) at a time; the first was read with
  // the metadata, so a message that cannot be read fails before a
  // transaction. (Most messages are one piece; later ones are read as sent.)
  Result<std::string, spool::SpoolError>& first = loaded.first;
  if (!first) {
    queue.Release(*m);
    FailItem(w, Reply{451, "4.3.0", "spool read failed"}, &q);
    co_return;
  }
  smtp::MessageBody body;
  body.size = m->meta.size;
  bool first_unused = true;
  body.read = [this, id = w.id, &first, &first_unused, size = body.size](std::uint32_t i,
                                                                         std::string& out) {
    using Piece = smtp::MessageBody::Piece;
    if (i == 0 && first_unused) {
      out.swap(first.value());  // read above; a second transaction reads it again
      first_unused = false;
      return Piece::kData;
    }
    if (i != 0 && i >= spool::ChunkCount(size)) {
      return Piece::kEnd;  // no lookup for a chunk that was never written
    }
    auto piece = parts_.spool.ReadDataChunk(id, i);
    if (!piece) {
      return i != 0 && piece.error() == spool::SpoolError::kNotFound ? Piece::kEnd : Piece::kError;
    }
    out = std::move(piece).value();
    return Piece::kData;
  };
  const queue::RetryPolicy retry = RetryFor(&q);
  if (m->meta.envelope.requiretls) {
    // RFC 8689 §4.2: only over TLS authenticated by DANE or MTA-STS, to a
    // server that takes REQUIRETLS on; else not delivered (5.7.30).
    const bool authenticated =
        conn.tls_authenticated && (conn.tls_policy == "dane" || conn.tls_policy == "mta-sts");
    if (!authenticated || !conn.speaks_requiretls()) {
      const Reply refused{550, "5.7.30",
                          "REQUIRETLS support required: " + conn.mx_host() +
                              (!authenticated ? " is not authenticated by DANE or MTA-STS"
                                              : " does not offer REQUIRETLS")};
      queue::AttemptInfo at = AttemptOf(&q, &conn);
      for (std::uint32_t rcpt : todo) {
        if (!m->meta.IsDone(rcpt)) {
          queue.Record(events::OutcomeType::kBounce, *m, rcpt, w,
                       {refused.code, refused.enhanced, refused.text}, &at, retry);
          m->meta.done[rcpt] |= spool::Meta::kFinal;
        }
      }
      GiveBackWarmup(q);
      queue.Finish(*m, w, {}, retry);
      queue.Release(*m);
      co_return;
    }
  }
  const auto& names = queue.names();
  const shaping::Group group{names.Tenant(w.queue), names.Campaign(w.queue)};
  std::vector<std::uint32_t> pending;
  bool accepted = false;  // by the receiver, for any recipient (what warm-up counts)
  // With VERP each recipient has its own return path: one a transaction.
  const std::string& verp_domain = opts_.verp.DomainFor(std::string(group.tenant));
  const bool verp =
      !verp_domain.empty() && !opts_.verp.secret.empty() && !m->meta.envelope.sender.IsNull();
  const std::size_t per_txn =
      verp ? 1 : std::max<std::uint32_t>(1, q.path.settings().max_recipients_per_transaction);
  for (std::size_t start = 0; start < todo.size(); start += per_txn) {
    std::vector<std::size_t> chunk(
        todo.begin() + static_cast<std::ptrdiff_t>(start),
        todo.begin() + static_cast<std::ptrdiff_t>(std::min(todo.size(), start + per_txn)));
    const auto began = parts_.clock.SteadyNow();
    Envelope verp_envelope;
    if (verp) {
      verp_envelope = m->meta.envelope;
      Address& from = verp_envelope.sender;
      from.local =
          bounce::EncodeVerp({w.id, static_cast<std::uint32_t>(chunk.front())}, opts_.verp.secret);
      from.domain = from.ascii_domain = verp_domain;
      from.utf8 = false;
    }
    auto result = co_await conn.Send(verp ? verp_envelope : m->meta.envelope, chunk, body);
    ++stats_.transactions;
    queue::AttemptInfo at = AttemptOf(&q, &conn);
    const auto took = parts_.clock.SteadyNow() - began;
    at.took = std::chrono::duration_cast<std::chrono::milliseconds>(took);
    if (parts_.metrics.attempt_seconds != nullptr) {
      parts_.metrics.attempt_seconds->With({q.provider})
          .Observe(std::chrono::duration<double>(took).count());
    }
    // The shaping sees each distinct reply of a transaction once (a failed
    // MAIL or DATA gives every recipient the same one), and one success.
    std::vector<std::pair<const Reply*, bool>> observed;  // reply, rule says bounce
    auto rule_bounce_for = [&](const Reply& r) {
      for (const auto& [seen, bounce] : observed) {
        if (seen->code == r.code && seen->enhanced == r.enhanced && seen->text == r.text) {
          return bounce;
        }
      }
      bool bounce = Observe(q, r, &group);
      observed.emplace_back(&r, bounce);
      return bounce;
    };
    bool any_success = false;
    for (std::size_t k = 0; k < chunk.size(); ++k) {
      const auto rcpt = static_cast<std::uint32_t>(chunk[k]);
      if (m->meta.IsDone(rcpt)) {
        continue;  // an operator bounced it while this transaction ran
      }
      const Reply& r = result.recipients[k];
      const bool rule_bounce = r.code / 100 != 2 && rule_bounce_for(r);
      if (r.code / 100 == 2) {
        any_success = true;
        queue.Record(events::OutcomeType::kDelivery, *m, rcpt, w, {r.code, r.enhanced, r.text}, &at,
                     retry);
        m->meta.done[rcpt] |= spool::Meta::kFinal;
      } else if (r.code >= 500 || rule_bounce) {
        queue.Record(events::OutcomeType::kBounce, *m, rcpt, w, {r.code, r.enhanced, r.text}, &at,
                     retry);
        m->meta.done[rcpt] |= spool::Meta::kFinal;
      } else {
        queue.Record(events::OutcomeType::kTransientFailure, *m, rcpt, w,
                     {r.code, r.enhanced, r.text}, &at, retry);
        pending.push_back(rcpt);
      }
    }
    if (any_success) {
      accepted = true;
      parts_.shaper.OnSuccess(q.path);
    }
    if (!result.connection_usable) {
      for (std::size_t j = start + chunk.size(); j < todo.size(); ++j) {
        pending.push_back(todo[j]);
      }
      break;
    }
  }
  if (!accepted) {
    GiveBackWarmup(q);
  }
  queue.Finish(*m, w, std::move(pending), retry);
  queue.Release(*m);
}

}  // namespace sluice::delivery
