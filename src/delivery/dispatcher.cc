#include "delivery/dispatcher.h"

#include <algorithm>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/assert.h"
#include "core/durable_file.h"
#include "delivery/tls_policy.h"
#include "runtime/log_errors.h"

namespace sluice::delivery {

namespace asio = boost::asio;
using asio::awaitable;
using smtp::Reply;
using Steady = Clock::Steady;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

// How long a domain's route (its site and MX hosts) is reused before the
// next item for it looks it up again (libunbound caches the records by TTL).
constexpr auto kRouteCacheTime = std::chrono::seconds(30);
constexpr std::uint32_t kUnknownPool = UINT32_MAX;
// The e2e suite looks for "delivery task: " in the log.
constexpr runtime::LogErrors kLogErrors{"delivery task"};

queue::ReplyView View(const Reply& r) {
  return {r.code, r.enhanced, r.text};
}

}  // namespace

const std::string& Options::Verp::DomainFor(const std::string& tenant) const {
  auto it = tenant_domains.find(tenant);
  return it != tenant_domains.end() ? it->second : default_domain;
}

shaping::Effective BuiltinShaping(const Options& opts) {
  shaping::Effective e;
  e.connection_limit = opts.connection_limit;
  e.max_deliveries_per_connection = opts.max_deliveries_per_connection;
  e.max_recipients_per_transaction = opts.max_recipients_per_transaction;
  e.idle_timeout = opts.idle_timeout;
  e.tls = opts.tls;
  return e;
}

Dispatcher::Dispatcher(asio::io_context& ioc, Options opts, Parts parts)
    : ioc_(ioc),
      opts_(std::move(opts)),
      parts_(parts),
      egress_(opts_.egress, {"", opts_.client.source_address, opts_.client.ehlo_name}),
      ready_(opts_.ready_capacity),
      wake_(ioc) {
  parts_.queue.SetDownstream(this);
  parts_.queue.SetWake([this] { wake_.cancel(); });
}

Dispatcher::~Dispatcher() {
  parts_.queue.SetDownstream(nullptr);
  parts_.queue.SetWake({});
}

void Dispatcher::Submit(spool::Meta meta) {
  asio::post(ioc_,
             [this, meta = std::move(meta)]() mutable { parts_.queue.Submit(std::move(meta)); });
}

void Dispatcher::Start() {
  // State kept over restarts, before the first item comes due.
  parts_.queue.LoadSuspensions();
  if (!opts_.shaping_state_file.empty()) {
    std::string text;
    if (!ReadWholeFile(opts_.shaping_state_file, &text) || !parts_.shaper.LoadState(text)) {
      spdlog::warn("shaping state {} is partly unreadable; the rest is kept",
                   opts_.shaping_state_file);
    }
  }
  asio::co_spawn(ioc_, ScheduleLoop(this), kLogErrors);
  asio::co_spawn(ioc_, Housekeeping(this), kLogErrors);
}

awaitable<void> Dispatcher::Housekeeping(Dispatcher* self) {
  asio::steady_timer t(self->ioc_);
  for (std::uint64_t tick = 1;; ++tick) {
    t.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await t.async_wait(kTuple);
    if (ec) {
      co_return;
    }
    self->SaveState();
    if (tick % 60 == 0) {
      self->ForgetIdle();
    }
  }
}

void Dispatcher::SaveState() {
  if (!parts_.shaper.dirty() || opts_.shaping_state_file.empty()) {
    return;
  }
  std::string error;
  if (ReplaceFileDurably(opts_.shaping_state_file, parts_.shaper.StateText(), &error)) {
    parts_.shaper.MarkSaved();
  } else {
    spdlog::error("cannot save the shaping state: {}", error);
  }
}

void Dispatcher::ForgetIdle() {
  const auto now = parts_.clock.SteadyNow();
  const auto before = now - opts_.forget_after;
  std::size_t paths = ready_.DropIdle(now, before);
  std::size_t routes = routes_.DropUnused(before);
  if (paths + routes > 0) {
    spdlog::debug("delivery: forgot {} idle paths and {} routes", paths, routes);
  }
}

awaitable<void> Dispatcher::ScheduleLoop(Dispatcher* self) {
  while (true) {
    std::size_t n = 0;
    while (auto w = self->parts_.queue.PopDue()) {
      self->Dispatch(*w);
      if (++n % 1024 == 0) {
        co_await asio::post(self->ioc_, asio::use_awaitable);  // let connections run
      }
    }
    self->wake_.expires_at(self->parts_.queue.NextWake());
    co_await self->wake_.async_wait(kTuple);
  }
}

void Dispatcher::Dispatch(const queue::WorkItem& w) {
  // Routes are per domain: every tenant's and campaign's queue to it shares one.
  const std::uint32_t domain = parts_.queue.names().Domain(w.queue);
  if (const Route* route = routes_.Find(domain, parts_.clock.SteadyNow())) {
    if (ReadyQueue* q = PathFor(*route, w)) {
      Enqueue(*q, w, domain);
    }
    return;
  }
  if (routes_.Wait(domain, w)) {
    asio::co_spawn(ioc_, Lookup(this, domain), kLogErrors);
  }
}

Route Dispatcher::MakeRoute(const std::string& domain, std::string site,
                            std::vector<RouteHost> hosts) const {
  Route r;
  // Shaping: a domain with its own rules block gets a site of its own.
  if (opts_.shaping && opts_.shaping->domains.count(domain) != 0) {
    site = "domain:" + domain + "|" + site;
  }
  r.site = std::move(site);
  r.hosts = std::move(hosts);
  r.domain = domain;
  if (opts_.shaping) {
    std::vector<std::string> names;
    for (const auto& h : r.hosts) {
      names.push_back(h.host);
    }
    if (const auto* p = shaping::MatchProvider(*opts_.shaping, names)) {
      r.provider = p->name;
    }
  }
  const auto now = parts_.clock.SteadyNow();
  r.expires = now + kRouteCacheTime;
  r.used = now;
  return r;
}

awaitable<void> Dispatcher::FailWaiting(Dispatcher* self, std::uint32_t domain, Reply failure) {
  // Every item waiting for the domain shares the answer; failed in slices so
  // connections keep running meanwhile.
  while (true) {
    auto slice = self->routes_.TakeWaiting(domain, 256);
    if (slice.empty()) {
      break;
    }
    for (const auto& w : slice) {
      self->FailItem(w, failure, nullptr);
    }
    co_await asio::post(self->ioc_, asio::use_awaitable);
  }
}

awaitable<void> Dispatcher::Lookup(Dispatcher* self, std::uint32_t domain) {
  // A copy: the names table may grow while this waits.
  const std::string name = self->parts_.queue.names().Name(domain);
  std::string site;
  std::vector<RouteHost> hosts;
  std::shared_ptr<const mtasts::Policy> route_sts;
  const auto& routes = self->opts_.routes;
  auto configured = routes.find(name);
  if (configured == routes.end()) {
    configured = routes.find("*");
  }
  if (configured != routes.end()) {
    // A configured route: its own site, hosts in the configured order.
    site = "route:";
    for (const auto& h : configured->second) {
      site +=
          (hosts.empty() ? "" : ",") + h.host + (h.port != 0 ? ":" + std::to_string(h.port) : "");
      hosts.push_back(h);
    }
  } else {
    auto mx = co_await self->parts_.resolver.ResolveMx(name);
    if (!mx) {
      // A named argument: GCC 12 frees a temporary coroutine argument twice.
      const Reply failure = DnsReply(mx.error(), name);
      co_await FailWaiting(self, domain, failure);
      co_return;
    }
    std::shared_ptr<const mtasts::Policy> sts;
    if (self->parts_.sts != nullptr) {
      auto found = co_await self->parts_.sts->For(name);
      if (found.policy && found.policy->mode != mtasts::Mode::kNone) {
        sts = std::move(found.policy);
      }
      if (found.failure) {
        // RFC 8460 §4.3.2.2: the domain publishes MTA-STS (its record was
        // found), but the policy could not be fetched or read.
        tlsrpt::Policy reported = ReportedPolicy("mta-sts", "", nullptr, sts.get());
        reported.type = "sts";
        self->ReportSession(name, reported, {found.failure->result_type, "", "", ""});
      }
    }
    if (sts && sts->mode == mtasts::Mode::kEnforce) {
      // RFC 8461 §4.2: only the MX hosts the policy names; none is a failure
      // to deliver securely (deferred: the policy or the MX may be fixed).
      for (const auto& h : mx->hosts) {
        if (!sts->Matches(h.host)) {
          self->ReportSession(name, ReportedPolicy("mta-sts", "", nullptr, sts.get()),
                              {"validation-failure", "", h.host, ""});
        }
      }
      std::erase_if(mx->hosts, [&](const dns::MxHost& h) { return !sts->Matches(h.host); });
      if (mx->hosts.empty()) {
        const Reply failure{451, "4.7.5",
                            name + ": no MX host is named by the domain's MTA-STS policy"};
        co_await FailWaiting(self, domain, failure);
        co_return;
      }
    }
    // Mail under an MTA-STS policy has paths of its own: its connections
    // authenticate the server, other domains' on the same hosts need not.
    site = mx->Site() + (!sts                                  ? ""
                         : sts->mode == mtasts::Mode::kEnforce ? "|mta-sts"
                                                               : "|mta-sts-testing");
    for (auto& h : mx->hosts) {
      hosts.push_back({std::move(h.host), 0});
    }
    route_sts = std::move(sts);
  }
  Route made = self->MakeRoute(name, std::move(site), std::move(hosts));
  made.sts = std::move(route_sts);
  const Route& route = self->routes_.Set(domain, std::move(made));
  for (const auto& w : self->routes_.TakeWaiting(domain, SIZE_MAX)) {
    if (ReadyQueue* q = self->PathFor(route, w)) {
      self->Enqueue(*q, w, domain);
    }
  }
}

std::size_t Dispatcher::PoolFor(std::uint32_t queue) {
  if (queue >= queue_pool_.size()) {
    queue_pool_.resize(queue + 1, kUnknownPool);
  }
  if (queue_pool_[queue] == kUnknownPool) {
    const auto& names = parts_.queue.names();
    queue_pool_[queue] = static_cast<std::uint32_t>(
        egress_.PoolIndex(opts_.egress, names.Tenant(queue), names.Campaign(queue)));
  }
  return queue_pool_[queue];
}

ReadyQueue* Dispatcher::PathFor(const Route& route, const queue::WorkItem& w) {
  const auto& names = parts_.queue.names();
  if (auto until = parts_.shaper.GroupSuspended(names.Tenant(w.queue), names.Campaign(w.queue),
                                                route.site)) {
    parts_.queue.Reschedule(w, parts_.clock.ToWall(*until));  // its tenant or campaign waits
    return nullptr;
  }
  const std::size_t pool = PoolFor(w.queue);
  const auto& members = egress_.Members(pool);
  // By weight first; with warm-up, if that source has no room for this
  // provider today, every other source of the pool in turn.
  const std::size_t first = egress_.Pick(pool);
  if (!parts_.shaper.has_warmup()) {
    return &PathForSource(route, members[first], w.tls_optional != 0);
  }
  auto next_day = Clock::Wall::time_point::max();
  for (std::size_t k = 0; k < members.size(); ++k) {
    const std::size_t source = members[(first + k) % members.size()];
    if (k > 0 && egress_.IsOut(source) && !egress_.IsOut(members[first])) {
      continue;  // out of the pools (Pick chose an address still in)
    }
    const std::string& name = egress_.source(source).name;
    if (parts_.shaper.TakeWarmup(name, route.provider)) {
      return &PathForSource(route, source, w.tls_optional != 0);
    }
    next_day = std::min(next_day, parts_.shaper.NextWarmupDay(name));
  }
  // Every source has used today's allowance: wait for the first new day, or
  // expire if the message is too old by then.
  ReadyQueue& q = PathForSource(route, members[first], w.tls_optional != 0);
  parts_.queue.WaitOrExpire(w, next_day, RetryFor(&q));
  return nullptr;
}

bool Dispatcher::SetSourceOut(const std::string& address, bool out) {
  bool changed = false;
  for (std::size_t source : egress_.FindAddress(address)) {
    changed |= egress_.SetOut(source, out);
  }
  return changed;
}

ReadyQueue& Dispatcher::PathForSource(const Route& route, std::size_t source, bool tls_optional) {
  const shaping::EgressSource& src = egress_.source(source);
  // Mail that set receivers' TLS policies aside (TLS-Required: No) has paths
  // of its own; shaping still counts them as the site's.
  const std::string site = tls_optional ? route.site + "|tls-required-no" : route.site;
  const std::string key = src.name.empty() ? site : src.name + "->" + site;
  bool made = false;
  ReadyQueue& q = ready_.Get(key, route.site, source, &made);
  q.tls_optional = tls_optional;
  if (made) {
    parts_.shaper.Restore(q.path);  // a reply rule's suspension from before a restart
  }
  const auto now = parts_.clock.SteadyNow();
  q.last_active = now;
  if (q.hosts.empty() || q.settings_expire < now) {
    // (Re)resolved with the route: hosts and shaping settings for this source.
    q.hosts = route.hosts;
    q.provider = route.provider;
    q.sts = route.sts;
    shaping::Effective settings = BuiltinShaping(opts_);
    if (const auto& rules = opts_.shaping) {
      std::vector<std::string> names;
      for (const auto& h : route.hosts) {
        names.push_back(h.host);
      }
      settings = shaping::Resolve(*rules, settings, route.domain, names, src.address);
    }
    q.path.Configure(std::move(settings), opts_.shaping, now);
    q.settings_expire = route.expires;
  }
  return q;
}

void Dispatcher::Enqueue(ReadyQueue& q, const queue::WorkItem& w, std::uint32_t domain) {
  // Full, or others already wait for room (they go first): the item waits,
  // parked by domain, until the queue has room.
  if (!q.parked().empty() || !q.Push(w)) {
    GiveBackWarmup(q);
    parts_.queue.Park(domain, w);
    q.parked().push_back(domain);
    return;
  }
  Kick(q);
}

void Dispatcher::Refill(ReadyQueue& q) {
  if (q.parked().empty() || q.size() > q.capacity() / 2) {
    return;
  }
  // Up to the room there is, in the order they were parked; they are routed
  // again (the route, or the source, may differ now). Until every parked item
  // is back, new ones park behind them (Enqueue). An entry whose item was
  // bounced or held meanwhile finds nothing.
  std::deque<std::uint32_t> order = std::exchange(q.parked(), {});
  std::vector<queue::WorkItem> items;
  std::size_t room = q.capacity() - q.size();
  while (items.size() < room && !order.empty()) {
    const std::uint32_t domain = order.front();
    std::size_t run = 0;  // consecutive entries of one domain: one call
    while (items.size() + run < room && !order.empty() && order.front() == domain) {
      order.pop_front();
      ++run;
    }
    auto got = parts_.queue.Unpark(domain, run);
    items.insert(items.end(), got.begin(), got.end());
  }
  for (const auto& w : items) {
    Dispatch(w);
  }
  // Those still parked stay ahead of any parked while these were routed.
  order.insert(order.end(), q.parked().begin(), q.parked().end());
  q.parked() = std::move(order);
}

void Dispatcher::SetShaping(std::shared_ptr<const shaping::Rules> rules) {
  opts_.shaping = std::move(rules);
  routes_.Clear();  // routes and paths look their settings up again
  ready_.ForEach([](ReadyQueue& q) {
    // The old rules' reply rules, counts and temporary limits end here; the
    // rest is looked up again with the next item for the path.
    q.settings_expire = {};
    q.path.ForgetRules();
  });
}

std::vector<PathView> Dispatcher::Paths() const {
  std::vector<PathView> out;
  const auto now = parts_.clock.SteadyNow();
  ready_.ForEach([&](const ReadyQueue& q) {
    out.push_back(
        {q.name(), q.size(), q.active,
         q.path.Suspended(now) ? ToMicros(parts_.clock.ToWall(q.path.suspended_until())) : 0});
  });
  return out;
}

Gauges Dispatcher::ReadGauges() const {
  Gauges g;
  const auto now = parts_.clock.SteadyNow();
  ready_.ForEach([&](const ReadyQueue& q) {
    g.ready[q.provider] += q.size();
    g.connections[q.provider] += q.active;
    g.suspended_paths += q.path.Suspended(now) ? 1 : 0;
  });
  return g;
}

std::string_view Dispatcher::ProviderOf(std::uint32_t domain) const {
  const Route* r = routes_.Peek(domain);
  return r == nullptr ? std::string_view("unrouted") : std::string_view(r->provider);
}

void Dispatcher::ForEachItem(const std::function<void(const queue::WorkItem&)>& fn) const {
  routes_.ForEachWaiting(fn);
  ready_.ForEach([&](const ReadyQueue& q) { q.ForEach(fn); });
}

std::vector<queue::WorkItem> Dispatcher::TakeItems(
    const std::function<bool(const queue::WorkItem&)>& match) {
  std::vector<queue::WorkItem> out;
  routes_.TakeWaiting(match, out);
  ready_.ForEach([&](ReadyQueue& q) {
    const std::size_t before = out.size();
    q.Take(match, out);
    for (std::size_t i = before; i < out.size(); ++i) {
      GiveBackWarmup(q);  // taken on the way in
    }
  });
  return out;
}

void Dispatcher::Announce(const ReadyQueue& q, const std::vector<shaping::Announcement>& what,
                          const Reply* reply) {
  for (const auto& a : what) {
    events::Automation e;
    e.rule = a.rule;
    e.action = a.action;
    if (a.group) {
      // A tenant or campaign is held on the site, whichever source it goes from.
      e.site = q.path.route_site();
      e.tenant = a.tenant;
      e.campaign = a.campaign;
    } else {
      e.site = q.name();
      e.egress_source = egress_.source(q.path.source()).address;
    }
    e.timestamp = parts_.clock.Now();
    e.until = std::max(e.timestamp, parts_.clock.ToWall(a.until));
    if (reply != nullptr) {
      e.code = reply->code;
      e.enhanced = reply->enhanced;
      e.text = reply->text;
    }
    parts_.bus.Publish(e);
    spdlog::info("shaping: {} on {}: {}", e.action, e.site, e.rule);
  }
}

bool Dispatcher::Observe(ReadyQueue& q, const Reply& r, const shaping::Group* group) {
  std::vector<shaping::Announcement> what;
  const bool bounce = parts_.shaper.OnReply(q.path, shaping::Reply{r.code, r.enhanced, r.text},
                                            q.active, group, what);
  Announce(q, what, &r);
  if (auto next = q.path.NextChange(parts_.clock.SteadyNow())) {
    WakeAt(q, *next);  // the end of a limit or suspension
  }
  if (q.path.Suspended(parts_.clock.SteadyNow())) {
    q.WakeIdle(SIZE_MAX);  // idle connections close now
  }
  return bounce;
}

void Dispatcher::GiveBackWarmup(const ReadyQueue& q) {
  parts_.shaper.GiveBackWarmup(egress_.source(q.path.source()).name, q.provider);
}

void Dispatcher::HoldFor(const ReadyQueue& q, const queue::WorkItem& w, Steady::time_point until) {
  GiveBackWarmup(q);
  parts_.queue.Reschedule(w, parts_.clock.ToWall(std::max(until, parts_.clock.SteadyNow())));
}

queue::RetryPolicy Dispatcher::RetryFor(const ReadyQueue* q) const {
  queue::RetryPolicy p = parts_.queue.retry();
  if (q != nullptr) {
    const auto& r = q->path.settings().retry;
    p.first_retry = r.first_retry.value_or(p.first_retry);
    p.max_interval = r.max_retry_interval.value_or(p.max_interval);
    p.backoff_factor = r.backoff_factor.value_or(p.backoff_factor);
    p.max_age = r.max_age.value_or(p.max_age);
  }
  return p;
}

queue::AttemptInfo Dispatcher::AttemptOf(const ReadyQueue* q, const Connection* conn) const {
  queue::AttemptInfo at;
  at.egress_source = q != nullptr ? egress_.source(q->path.source()).address
                                  : std::string_view(opts_.client.source_address);
  if (q != nullptr) {
    at.site = q->name();
    at.provider = q->provider;
    at.tls_policy = q->tls_policy;
  }
  if (conn != nullptr) {
    at.mx_host = conn->mx_host();
    at.mx_ip = conn->peer_ip();
    at.tls_version = conn->tls_info().version;
    at.tls_cipher = conn->tls_info().cipher;
    at.tls_policy = conn->tls_policy;
    at.tls_authenticated = conn->tls_authenticated;
    at.next_hop_dsn = conn->speaks_dsn();
  }
  return at;
}

void Dispatcher::FailItem(const queue::WorkItem& w, const Reply& r, const ReadyQueue* q) {
  if (q != nullptr) {
    GiveBackWarmup(*q);  // taken for this path, and not accepted
  }
  const queue::AttemptInfo at = AttemptOf(q, nullptr);
  parts_.queue.Fail(w, View(r), &at, RetryFor(q));
}

}  // namespace sluice::delivery
