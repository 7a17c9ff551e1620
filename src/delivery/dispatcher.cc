#include "delivery/dispatcher.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "spool/data_chunks.h"

namespace sluice::delivery {

namespace asio = boost::asio;
using asio::awaitable;
using queue::Clock;
using smtp::Reply;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

// New mail keeps its metadata in memory until its first delivery, up to this
// many messages; beyond, it is read back from the spool like deferred mail.
constexpr std::size_t kFreshCacheLimit = 20000;
// How long a domain's route (its site and MX hosts) is reused before the
// next item for it looks it up again (libunbound caches the records by TTL).
constexpr auto kRouteCacheTime = std::chrono::seconds(30);
constexpr std::uint32_t kUnknownPool = UINT32_MAX;

// The key of a tenant or campaign suspension on a site; none for mail without
// a tenant (or campaign), which is no group: DSNs and untagged mail are held
// only by path rules.
std::optional<std::string> GroupKey(shaping::Scope scope, const std::string& tenant,
                                    const std::string& campaign, const std::string& site) {
  if (scope == shaping::Scope::kTenant) {
    return tenant.empty() ? std::nullopt : std::optional("tenant " + tenant + "|" + site);
  }
  return campaign.empty() ? std::nullopt
                          : std::optional("campaign " + campaign + ":" + tenant + "|" + site);
}

std::int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
      .count();
}

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

// Writes `text` to a temporary file and renames it over `path`: a crash
// leaves the old file or the new one, never half of one.
bool ReplaceFile(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out) {
      spdlog::error("cannot write {}", tmp);
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    spdlog::error("cannot replace {}", path);
    return false;
  }
  return true;
}

// Steady-clock deadlines (suspensions) as wall-clock microseconds, and back.
std::int64_t WallMicros(shaping::Clock::time_point t) {
  auto wall = Clock::now() + std::chrono::duration_cast<Clock::duration>(t - shaping::Clock::now());
  return std::chrono::duration_cast<std::chrono::microseconds>(wall.time_since_epoch()).count();
}
shaping::Clock::time_point SteadyFromMicros(std::int64_t us) {
  return shaping::Clock::now() +
         std::chrono::duration_cast<shaping::Clock::duration>(FromMicros(us) - Clock::now());
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
      wake_(ioc) {
  sources_ = opts_.sources;
  if (sources_.empty()) {
    sources_.push_back({"", opts_.client.source_address, opts_.client.ehlo_name});
    opts_.weights.clear();
  }
  opts_.weights.resize(sources_.size(), 1);
  // Pool 0 is every source; the named pools follow.
  Pool all;
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    all.sources.push_back(i);
    all.weights.push_back(opts_.weights[i]);
  }
  pools_.push_back(std::move(all));
  for (const auto& p : opts_.pools) {
    Pool pool;
    pool.name = p.name;
    for (std::size_t k = 0; k < p.sources.size(); ++k) {
      if (p.sources[k] < sources_.size()) {
        pool.sources.push_back(p.sources[k]);
        pool.weights.push_back(k < p.weights.size() ? p.weights[k] : 1);
      }
    }
    if (!pool.sources.empty()) {
      pools_.push_back(std::move(pool));
    }
  }
  for (auto& pool : pools_) {
    pool.current.assign(pool.sources.size(), 0);
  }
}

Dispatcher::~Dispatcher() = default;

void Dispatcher::Start() {
  // State kept over restarts, before the first item comes due.
  LoadSuspensions();
  LoadShapingState();
  if (opts_.warmup && !opts_.warmup_state_file.empty()) {
    std::ifstream in(opts_.warmup_state_file);
    std::stringstream text;
    text << in.rdbuf();
    if (in && !opts_.warmup->Load(text.str())) {
      spdlog::warn("warm-up state {} is unreadable; counting from zero", opts_.warmup_state_file);
    }
  }
  asio::co_spawn(ioc_, ScheduleLoop(this), LogCoroutineError);
  asio::co_spawn(ioc_, SaveStateLoop(this), LogCoroutineError);
}

awaitable<void> Dispatcher::SaveStateLoop(Dispatcher* self) {
  asio::steady_timer t(self->ioc_);
  while (true) {
    t.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await t.async_wait(kTuple);
    if (ec) {
      co_return;
    }
    self->SaveState();
  }
}

void Dispatcher::SaveState() {
  if (opts_.warmup && warmup_dirty_ && !opts_.warmup_state_file.empty() &&
      ReplaceFile(opts_.warmup_state_file, opts_.warmup->Save())) {
    warmup_dirty_ = false;
  }
  if (shaping_dirty_ && !opts_.shaping_state_file.empty()) {
    // Suspensions by reply rules: "path UNTIL_US SITE" and "group UNTIL_US KEY".
    std::string text;
    auto now = shaping::Clock::now();
    for (const auto& [name, site] : sites_) {
      if (site->kept_until > now) {
        text += fmt::format("path {} {}\n", WallMicros(site->kept_until), name);
      }
    }
    for (const auto& [name, until] : restored_paths_) {
      if (until > now) {  // restored, and not used since
        text += fmt::format("path {} {}\n", WallMicros(until), name);
      }
    }
    for (const auto& [key, until] : group_suspensions_) {
      if (until > now) {
        text += fmt::format("group {} {}\n", WallMicros(until), key);
      }
    }
    if (ReplaceFile(opts_.shaping_state_file, text)) {
      shaping_dirty_ = false;
    }
  }
}

void Dispatcher::LoadShapingState() {
  if (opts_.shaping_state_file.empty()) {
    return;
  }
  std::ifstream in(opts_.shaping_state_file);
  std::string kind;
  std::int64_t until_us = 0;
  std::string key;
  while (in >> kind >> until_us && std::getline(in >> std::ws, key)) {
    auto until = SteadyFromMicros(until_us);
    if (until <= shaping::Clock::now()) {
      continue;
    }
    if (kind == "path") {
      restored_paths_[key] = until;  // applied when the path is next used
    } else if (kind == "group") {
      group_suspensions_[key] = until;
    }
    spdlog::info("shaping: {} {} stays suspended", kind, key);
  }
}

std::vector<shaping::Warmup::SourceStatus> Dispatcher::WarmupStatus() const {
  if (!opts_.warmup) {
    return {};
  }
  return opts_.warmup->Status(std::chrono::system_clock::now());
}

void Dispatcher::Submit(spool::Meta meta) {
  asio::post(ioc_, [this, meta = std::move(meta)]() mutable {
    if (Enqueue(meta, NowMicros()) && meta.attempts == 0 && messages_.size() < kFreshCacheLimit) {
      SpoolId id = meta.id;
      meta.done.resize(meta.envelope.recipients.size(), 0);
      messages_.try_emplace(id, std::move(meta));
    }
  });
}

void Dispatcher::Restore(const spool::Meta& meta) {
  Enqueue(meta, NowMicros());
}

std::uint32_t Dispatcher::QueueOf(const spool::Meta& meta, const std::string& domain) {
  if (meta.tenant.empty() && meta.campaign.empty()) {
    return names_.Intern(domain);
  }
  // Tags as ingest checked them; one that is not (a damaged record) is dropped
  // rather than make a name whose domain cannot be found again.
  auto tag = [](const std::string& t) { return queue::ValidTag(t) ? t : std::string(); };
  return names_.Intern(queue::QueueName{tag(meta.campaign), tag(meta.tenant), domain}.ToString());
}

bool Dispatcher::Enqueue(const spool::Meta& meta, std::int64_t now_us) {
  // One work item per destination domain among the pending recipients, in
  // the message's tenant and campaign queue ("campaign:tenant@domain").
  std::vector<std::uint32_t> queues;
  const auto& rcpts = meta.envelope.recipients;
  for (std::size_t i = 0; i < rcpts.size(); ++i) {
    if (!meta.IsDone(i)) {
      std::uint32_t q = QueueOf(meta, rcpts[i].address.ascii_domain);
      if (std::find(queues.begin(), queues.end(), q) == queues.end()) {
        queues.push_back(q);
      }
    }
  }
  if (queues.empty()) {
    // Every outcome was recorded before a restart: finish the removal.
    spool_.Remove(meta.id, meta.size, [](Result<Ok, spool::SpoolError>) {});
    return false;
  }
  bool deferred = meta.attempts > 0;
  auto due = FromMicros(deferred ? meta.due_us : now_us);
  for (auto q : queues) {
    scheduler_.Add(queue::WorkItem{meta.id, due, q, meta.attempts});
  }
  wake_.cancel();  // let the loop look at the new due time
  return true;
}

void Dispatcher::AddWork(queue::WorkItem w) {
  scheduler_.Add(w);
  wake_.cancel();  // let the loop look at the new due time
}

Dispatcher::MessageState* Dispatcher::Acquire(const queue::WorkItem& w, bool requeue) {
  const SpoolId& id = w.id;
  auto it = messages_.find(id);
  if (it == messages_.end()) {
    auto meta = spool_.ReadMeta(id);
    if (!meta) {
      if (meta.error() != spool::SpoolError::kNotFound) {
        // Still spooled but unreadable now: try again later rather than
        // leave the message unscheduled until a restart.
        spdlog::error("spool read {}: {}", id.Hex(), spool::ToString(meta.error()));
        if (requeue) {
          queue::WorkItem later = w;
          later.due = Clock::now() + opts_.retry.first_retry;
          AddWork(later);
        }
      }
      return nullptr;
    }
    meta.value().done.resize(meta.value().envelope.recipients.size(), 0);
    it = messages_.try_emplace(id, std::move(meta).value()).first;
  }
  if (it->second.removed) {
    return nullptr;
  }
  ++it->second.users;
  return &it->second;
}

void Dispatcher::Release(MessageState& m) {
  if (--m.users == 0) {
    SpoolId id = m.meta.id;
    messages_.erase(id);  // persisted already; read back when needed
  }
}

void Dispatcher::Evict(const SpoolId& id) {
  auto it = messages_.find(id);
  if (it != messages_.end() && it->second.users == 0) {
    messages_.erase(it);
  }
}

std::vector<std::uint32_t> Dispatcher::PendingFor(const MessageState& m,
                                                  std::uint32_t queue) const {
  std::vector<std::uint32_t> out;
  const std::string& domain = names_.DomainName(queue);
  const auto& rcpts = m.meta.envelope.recipients;
  for (std::uint32_t i = 0; i < rcpts.size(); ++i) {
    if (!m.meta.IsDone(i) && rcpts[i].address.ascii_domain == domain) {
      out.push_back(i);
    }
  }
  return out;
}

awaitable<void> Dispatcher::ScheduleLoop(Dispatcher* self) {
  while (true) {
    auto now = Clock::now();
    self->EndSuspensions(now);
    std::size_t n = 0;
    while (auto w = self->scheduler_.PopDue(now)) {
      if (self->Suspended(w->queue)) {
        self->held_[w->queue].push_back(*w);
        self->Evict(w->id);
      } else {
        self->Dispatch(*w, now);
      }
      if (++n % 1024 == 0) {
        co_await asio::post(self->ioc_, asio::use_awaitable);  // let connections run
      }
    }
    // Until the next item is due, or an operator's suspension ends.
    auto next = self->scheduler_.NextDue().value_or(Clock::time_point::max());
    for (const auto& [target, until] : self->suspended_) {
      next = std::min(next, until);
    }
    self->wake_.expires_at(next);
    co_await self->wake_.async_wait(kTuple);
  }
}

bool Dispatcher::Suspended(std::uint32_t queue) const {
  // Operator targets are few; each is a filter over queue names.
  return std::any_of(suspended_.begin(), suspended_.end(),
                     [&](const auto& s) { return names_.Covers(s.first, queue); });
}

void Dispatcher::EndSuspensions(Clock::time_point now) {
  if (std::erase_if(suspended_, [now](const auto& s) { return s.second <= now; }) > 0) {
    ReleaseHeld();
    SaveSuspensions();
  }
}

void Dispatcher::LoadSuspensions() {
  if (opts_.suspensions_file.empty()) {
    return;
  }
  std::ifstream in(opts_.suspensions_file);
  std::int64_t until_us = 0;
  std::string target;
  while (in >> until_us >> target) {
    if (!queue::QueueName::Parse(target)) {
      spdlog::warn("{}: skipping {}: not a queue name", opts_.suspensions_file, target);
      continue;
    }
    auto until = until_us == 0 ? Clock::time_point::max() : FromMicros(until_us);
    if (until > Clock::now()) {
      suspended_[names_.Intern(target)] = until;
      spdlog::info("queue {} stays suspended", target);
    }
  }
}

void Dispatcher::SaveSuspensions() {
  if (opts_.suspensions_file.empty()) {
    return;
  }
  std::string text;
  for (const auto& [target, until] : suspended_) {
    auto until_us =
        until == Clock::time_point::max()
            ? 0
            : std::chrono::duration_cast<std::chrono::microseconds>(until.time_since_epoch())
                  .count();
    text += fmt::format("{} {}\n", until_us, names_.Name(target));
  }
  ReplaceFile(opts_.suspensions_file, text);
}

std::size_t Dispatcher::ReleaseHeld() {
  // What no target suspends any more goes back to the schedule.
  std::size_t n = 0;
  for (auto it = held_.begin(); it != held_.end();) {
    if (Suspended(it->first)) {
      ++it;
      continue;
    }
    n += it->second.size();
    for (auto& w : it->second) {
      w.due = Clock::now();
      AddWork(w);
    }
    it = held_.erase(it);
  }
  return n;
}

void Dispatcher::Dispatch(const queue::WorkItem& w, Clock::time_point now) {
  // Routes are per domain: every tenant's and campaign's queue to it shares one.
  const std::uint32_t domain = names_.Domain(w.queue);
  auto known = route_cache_.find(domain);
  if (known != route_cache_.end() && known->second.expires > now) {
    Site* site = PathFor(known->second, w);
    if (site != nullptr) {
      site->ready.push_back(w);
      Kick(*site);
    }
    return;
  }
  auto [waiting, first] = resolving_.try_emplace(domain);
  waiting->second.push_back(w);
  if (first) {
    asio::co_spawn(ioc_, Route(this, domain), LogCoroutineError);
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

awaitable<void> Dispatcher::Route(Dispatcher* self, std::uint32_t queue) {
  std::string site_name;
  std::vector<RouteHost> hosts;
  const std::string& domain = self->names_.Name(queue);
  const auto& routes = self->opts_.routes;
  auto route = routes.find(domain);
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
    auto mx = co_await self->resolver_.ResolveMx(domain);
    if (!mx) {
      // Every item waiting for this domain shares the answer; fail them in
      // slices so connections keep running meanwhile.
      Reply failure = DnsReply(mx.error(), domain);
      while (true) {
        auto waiting = self->resolving_.find(queue);
        if (waiting == self->resolving_.end()) {
          break;
        }
        std::vector<queue::WorkItem> slice;
        auto& items = waiting->second;
        std::size_t take = std::min<std::size_t>(items.size(), 256);
        slice.assign(items.end() - static_cast<std::ptrdiff_t>(take), items.end());
        items.resize(items.size() - take);
        const bool last = items.empty();
        if (last) {
          // A new entry made meanwhile belongs to a new lookup, not this one.
          self->resolving_.erase(waiting);
        }
        for (const auto& w : slice) {
          self->FailItem(w, failure, nullptr);
        }
        if (last) {
          break;
        }
        co_await asio::post(self->ioc_, asio::use_awaitable);
      }
      co_return;
    }
    site_name = mx->Site();
    for (auto& h : mx->hosts) {
      hosts.push_back({std::move(h.host), 0});
    }
  }
  // Shaping: a domain with its own rules block gets a site of its own.
  if (self->opts_.shaping && self->opts_.shaping->domains.count(domain) != 0) {
    site_name = "domain:" + domain + "|" + site_name;
  }
  KnownRoute& known = self->route_cache_[queue];
  known = KnownRoute{site_name, std::move(hosts), domain, Clock::now() + kRouteCacheTime, "other"};
  if (self->opts_.shaping) {
    std::vector<std::string> names;
    for (const auto& h : known.hosts) {
      names.push_back(h.host);
    }
    if (const auto* p = shaping::MatchProvider(*self->opts_.shaping, names)) {
      known.provider = p->name;
    }
  }
  auto waiting = self->resolving_.find(queue);
  if (waiting != self->resolving_.end()) {
    std::vector<queue::WorkItem> items = std::move(waiting->second);
    self->resolving_.erase(waiting);
    std::set<Site*> touched;
    for (const auto& w : items) {
      Site* site = self->PathFor(known, w);
      if (site != nullptr) {
        site->ready.push_back(w);
        touched.insert(site);
      }
    }
    for (Site* site : touched) {
      spdlog::debug("site {}: {} ready, {} connections", site->name, site->ready.size(),
                    site->active);
      self->Kick(*site);
    }
  }
}

PoolChoice ChoosePool(const Options& opts, const std::string& tenant, const std::string& campaign) {
  auto find = [&opts](const std::string& name) -> const EgressPool* {
    for (const auto& p : opts.pools) {
      if (p.name == name) {
        return &p;
      }
    }
    return nullptr;
  };
  if (!campaign.empty()) {
    auto c = opts.campaign_pools.find(campaign + ":" + tenant);
    if (c != opts.campaign_pools.end() && find(c->second) != nullptr) {
      return {find(c->second), "campaign " + campaign + " of tenant " + tenant};
    }
  }
  if (!tenant.empty()) {
    auto t = opts.tenant_pools.find(tenant);
    if (t != opts.tenant_pools.end() && find(t->second) != nullptr) {
      return {find(t->second), "tenant " + tenant};
    }
  }
  if (const EgressPool* p = find(opts.default_pool); p != nullptr && !opts.default_pool.empty()) {
    return {p, "[egress] default_pool"};
  }
  return {nullptr, "every source"};
}

std::size_t Dispatcher::PoolFor(std::uint32_t queue) {
  if (queue >= queue_pool_.size()) {
    queue_pool_.resize(queue + 1, kUnknownPool);
  }
  if (queue_pool_[queue] != kUnknownPool) {
    return queue_pool_[queue];
  }
  std::size_t pool = 0;  // every source
  const PoolChoice choice = ChoosePool(opts_, names_.Tenant(queue), names_.Campaign(queue));
  for (std::size_t i = 1; choice.pool != nullptr && i < pools_.size(); ++i) {
    if (pools_[i].name == choice.pool->name) {
      pool = i;
    }
  }
  queue_pool_[queue] = static_cast<std::uint32_t>(pool);
  return pool;
}

std::size_t Dispatcher::PickSource(Pool& pool) {
  // Smooth weighted round robin: each source in proportion to its weight,
  // interleaved rather than in runs. Returns a position in the pool.
  if (pool.sources.size() == 1) {
    return 0;
  }
  std::int64_t total = 0;
  std::size_t best = 0;
  for (std::size_t i = 0; i < pool.sources.size(); ++i) {
    pool.current[i] += pool.weights[i];
    total += pool.weights[i];
    if (pool.current[i] > pool.current[best]) {
      best = i;
    }
  }
  pool.current[best] -= total;
  return best;
}

Dispatcher::Site* Dispatcher::PathFor(const KnownRoute& route, const queue::WorkItem& w) {
  if (auto until = GroupSuspended(w.queue, route.site_name)) {
    Hold(w, *until);  // its tenant or campaign is suspended on this site
    return nullptr;
  }
  Pool& pool = pools_[PoolFor(w.queue)];
  // By weight first; with warm-up, if that source has no room for this
  // provider today, every other source of the pool in turn.
  const std::size_t first = PickSource(pool);
  if (!opts_.warmup) {
    return &PathForSource(route, pool.sources[first]);
  }
  auto now = std::chrono::system_clock::now();
  auto next_day = std::chrono::system_clock::time_point::max();
  for (std::size_t k = 0; k < pool.sources.size(); ++k) {
    std::size_t source = pool.sources[(first + k) % pool.sources.size()];
    const std::string& name = sources_[source].name;
    if (opts_.warmup->TryTake(name, route.provider, now)) {
      warmup_dirty_ |= opts_.warmup->HasSchedule(name);
      return &PathForSource(route, source);
    }
    next_day = std::min(next_day, opts_.warmup->NextDay(name, now));
  }
  // Every source has used today's allowance: wait for the first new day, or
  // expire if the message is too old by then.
  Site& site = PathForSource(route, pool.sources[first]);
  const auto max_age = RetryFor(&site).max_age;
  auto expires = FromMicros(static_cast<std::int64_t>(w.id.micros())) + max_age;
  queue::WorkItem later = w;
  if (expires <= now) {
    // Measured as FinishItem measures it, from the recorded reception.
    if (MessageState* m = Acquire(w)) {
      expires = FromMicros(m->meta.received_us) + max_age;
      if (expires <= Clock::now()) {
        FinishItem(*m, w, PendingFor(*m, w.queue), &site);  // records the expiration
      } else {
        later.due = std::min(next_day, expires);
        AddWork(later);
      }
      Release(*m);
    }
    return nullptr;
  }
  later.due = std::min(next_day, expires);
  AddWork(later);
  Evict(w.id);
  return nullptr;
}

Dispatcher::Site& Dispatcher::PathForSource(const KnownRoute& route, std::size_t source) {
  const EgressSource& src = sources_[source];
  std::string key = src.name.empty() ? route.site_name : src.name + "->" + route.site_name;
  auto& slot = sites_[key];
  if (!slot) {
    slot = std::make_unique<Site>();
    slot->name = key;
    slot->source = source;
    if (auto kept = restored_paths_.find(key); kept != restored_paths_.end()) {
      // Suspended by a reply rule before a restart.
      slot->suspended_until = slot->kept_until = kept->second;
      restored_paths_.erase(kept);
    }
  }
  Site& site = *slot;
  if (site.hosts.empty() || site.settings_expire < Clock::now()) {
    // (Re)resolved with the route: hosts and shaping settings for this source.
    site.hosts = route.hosts;
    site.route_site = route.site_name;
    site.provider = route.provider;
    shaping::Effective settings = Builtin();
    if (const auto& rules = opts_.shaping) {
      std::vector<std::string> names;
      for (const auto& h : route.hosts) {
        names.push_back(h.host);
      }
      settings = shaping::Resolve(*rules, settings, route.domain, names, src.address);
    }
    site.rules = opts_.shaping;
    site.base = settings;
    if (site.limited_until <= shaping::Clock::now()) {
      ApplySettings(site, std::move(settings));
    }
    site.settings_expire = route.expires;
  }
  return site;
}

shaping::Effective BuiltinShaping(const Options& opts) {
  shaping::Effective e;
  e.connection_limit = opts.connection_limit;
  e.max_deliveries_per_connection = opts.max_deliveries_per_connection;
  e.max_recipients_per_transaction = opts.max_recipients_per_transaction;
  e.idle_timeout = opts.idle_timeout;
  e.tls = opts.client.tls == smtp::TlsPolicy::kDisabled   ? shaping::Tls::kDisabled
          : opts.client.tls == smtp::TlsPolicy::kRequired ? shaping::Tls::kRequired
                                                          : shaping::Tls::kOpportunistic;
  return e;
}

shaping::Effective Dispatcher::Builtin() const {
  return BuiltinShaping(opts_);
}

void Dispatcher::ApplySettings(Site& site, shaping::Effective settings) {
  // A rate that did not change keeps its schedule.
  auto update = [](std::optional<shaping::Gcra>& g, const std::optional<shaping::Rate>& r) {
    if (!r) {
      g.reset();
    } else if (!g || !(g->rate() == *r)) {
      g.emplace(*r);
    }
  };
  update(site.message_rate, settings.max_message_rate);
  update(site.connection_rate, settings.max_connection_rate);
  site.settings = std::move(settings);
}

awaitable<void> Dispatcher::Pace(std::optional<shaping::Gcra>& rate) {
  if (!rate) {
    co_return;
  }
  auto now = shaping::Clock::now();
  auto at = rate->Reserve(now);
  if (at > now) {
    asio::steady_timer t(ioc_);
    t.expires_at(at);
    co_await t.async_wait(kTuple);
  }
}

void Dispatcher::SetShaping(std::shared_ptr<const shaping::Rules> rules) {
  opts_.shaping = std::move(rules);
  route_cache_.clear();  // routes and sites look their settings up again
  for (auto& [name, site] : sites_) {
    // Temporary limits and rule counts belong to the old rules: they end here,
    // and the site takes the new settings (and their rules) at once.
    // The old rules' reply rules go at once (they point into the old rules);
    // the rest is looked up again with the next item for the site.
    site->settings_expire = {};
    site->limited_until = {};
    site->hits.clear();
    site->base.automation.clear();
    ApplySettings(*site, site->base);
  }
}

std::uint32_t Dispatcher::ConnectionLimit(const Site& site) {
  std::uint32_t limit = site.settings.connection_limit;
  if (site.message_rate && site.message_rate->interval() > site.settings.idle_timeout) {
    limit = 1;  // a rate slower than a session's idle time keeps one connection busy
  }
  if (site.cap > 0) {
    limit = std::min(limit, std::max<std::uint32_t>(1, static_cast<std::uint32_t>(site.cap)));
  }
  return limit;
}

void Dispatcher::Announce(const Site& site, const std::string& rule, const std::string& action,
                          shaping::Clock::time_point until, const smtp::Reply* reply,
                          const queue::QueueName* group) {
  events::Automation a;
  a.rule = rule;
  a.action = action;
  if (group != nullptr) {
    // A tenant or campaign is held on the site, whichever source it goes from.
    a.site = site.route_site;
    a.tenant = group->tenant;
    a.campaign = group->campaign;
  } else {
    a.site = site.name;
    a.egress_source = sources_[site.source].address;
  }
  a.timestamp = std::chrono::system_clock::now();
  a.until = a.timestamp + std::chrono::duration_cast<std::chrono::system_clock::duration>(std::max(
                              shaping::Clock::duration::zero(), until - shaping::Clock::now()));
  if (reply != nullptr) {
    a.code = reply->code;
    a.enhanced = reply->enhanced;
    a.text = reply->text;
  }
  bus_.Publish(a);
  spdlog::info("shaping: {} on {}: {}", action, a.site, rule);
}

void Dispatcher::SuspendGroup(const Site& site, shaping::Scope scope, std::uint32_t queue,
                              shaping::Clock::duration how_long, const std::string& rule,
                              const smtp::Reply& reply) {
  const std::string& tenant = names_.Tenant(queue);
  const std::string& campaign = names_.Campaign(queue);
  auto key = GroupKey(scope, tenant, campaign, site.route_site);
  if (!key) {
    return;
  }
  auto now = shaping::Clock::now();
  std::erase_if(group_suspensions_, [now](const auto& g) { return g.second <= now; });
  auto until = now + how_long;
  auto& slot = group_suspensions_[*key];
  if (until <= slot) {
    return;
  }
  slot = until;
  shaping_dirty_ = true;
  const bool by_tenant = scope == shaping::Scope::kTenant;
  queue::QueueName group{by_tenant ? std::string() : campaign, tenant, {}};
  Announce(site, rule, by_tenant ? "suspend tenant" : "suspend campaign", until, &reply, &group);
}

std::optional<shaping::Clock::time_point> Dispatcher::GroupSuspended(
    std::uint32_t queue, const std::string& route_site) {
  if (group_suspensions_.empty()) {
    return std::nullopt;
  }
  auto now = shaping::Clock::now();
  std::optional<shaping::Clock::time_point> until;
  for (auto scope : {shaping::Scope::kTenant, shaping::Scope::kCampaign}) {
    auto key = GroupKey(scope, names_.Tenant(queue), names_.Campaign(queue), route_site);
    if (!key) {
      continue;
    }
    auto it = group_suspensions_.find(*key);
    if (it == group_suspensions_.end()) {
      continue;
    }
    if (it->second <= now) {
      group_suspensions_.erase(it);  // lifted by itself
      continue;
    }
    until = std::max(until.value_or(it->second), it->second);
  }
  return until;
}

void Dispatcher::Hold(const queue::WorkItem& w, shaping::Clock::time_point until) {
  queue::WorkItem later = w;
  later.due = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::max(
                                 shaping::Clock::duration::zero(), until - shaping::Clock::now()));
  AddWork(later);
  Evict(w.id);
}

void Dispatcher::GiveBackWarmup(const Site& site) {
  if (opts_.warmup && opts_.warmup->HasSchedule(sources_[site.source].name)) {
    opts_.warmup->GiveBack(sources_[site.source].name, site.provider,
                           std::chrono::system_clock::now());
    warmup_dirty_ = true;
  }
}

void Dispatcher::WakeAt(Site& site, shaping::Clock::time_point at) {
  if (!site.wake) {
    site.wake = std::make_unique<asio::steady_timer>(ioc_);
  } else if (site.wake->expiry() > shaping::Clock::now() && site.wake->expiry() <= at) {
    return;  // an earlier wake-up is armed; it re-arms for what remains
  }
  site.wake->expires_at(at);
  site.wake->async_wait([this, s = &site](boost::system::error_code ec) {
    if (ec) {
      return;
    }
    auto now = shaping::Clock::now();
    if (s->limited_until != shaping::Clock::time_point{} && s->limited_until <= now) {
      s->limited_until = {};
      ApplySettings(*s, s->base);  // the rule's limit has run out
    }
    if (s->limited_until > now) {
      WakeAt(*s, s->limited_until);
    }
    Kick(*s);
  });
}

void Dispatcher::SuspendPath(Site& site, shaping::Clock::duration how_long, const std::string& rule,
                             const smtp::Reply* reply, bool keep) {
  auto until = shaping::Clock::now() + how_long;
  if (until <= site.suspended_until) {
    return;
  }
  site.suspended_until = until;
  if (keep) {
    site.kept_until = until;
    shaping_dirty_ = true;
  }
  Announce(site, rule, "suspend", until, reply);
  WakeAt(site, until);
  for (auto* t : site.idle) {
    t->cancel();  // idle connections close now
  }
}

bool Dispatcher::Observe(Site& site, const smtp::Reply& r, std::optional<std::uint32_t> queue) {
  auto now = shaping::Clock::now();
  if (r.code == 421) {
    // Built in: the receiver asks us to back off. Halve this path's
    // concurrency; it grows back by about one connection per window of
    // successes (slow start, as Postfix and PowerMTA do).
    double from = site.cap > 0 ? site.cap
                               : static_cast<double>(std::max<std::uint32_t>(
                                     1, std::min(site.active, ConnectionLimit(site))));
    double to = std::max(1.0, from / 2);
    if (site.cap == 0 || to < site.cap) {
      site.cap = to;
      Announce(site, "built-in: 421 from the receiver", "halve concurrency", now, &r);
    }
  }
  bool bounce = false;
  // A copy: a "limit" action replaces site.settings (and so this list).
  const std::vector<const shaping::Automation*> rules = site.settings.automation;
  for (const shaping::Automation* a : rules) {
    if (!shaping::Matches(*a, r.code, r.enhanced, r.text)) {
      continue;
    }
    if (a->threshold > 1) {
      // A tenant or campaign rule counts each group's replies apart.
      std::string group;
      if (a->action == shaping::Action::kSuspend && a->scope != shaping::Scope::kPath) {
        auto key = queue ? GroupKey(a->scope, names_.Tenant(*queue), names_.Campaign(*queue), "")
                         : std::nullopt;
        if (!key) {
          continue;  // no group to count for (nor to suspend)
        }
        group = std::move(*key);
      }
      if (site.hits.size() > 64) {
        // Many groups seen once: forget those whose last match is out of its window.
        std::erase_if(site.hits, [now](const auto& e) {
          return e.second.empty() || now - e.second.back() > e.first.first->window;
        });
      }
      auto& h = site.hits[{a, group}];
      h.push_back(now);
      while (!h.empty() && now - h.front() > a->window) {
        h.pop_front();
      }
      if (h.size() < a->threshold) {
        continue;
      }
      site.hits.erase({a, group});  // counted out: the next window starts empty
    }
    switch (a->action) {
      case shaping::Action::kSuspend:
        if (a->scope == shaping::Scope::kPath) {
          SuspendPath(site, a->duration, a->name, &r, /*keep=*/true);
        } else if (queue) {
          // A reply to a connection (greeting, EHLO) is about no one message:
          // a tenant or campaign rule acts only on replies in a transaction.
          SuspendGroup(site, a->scope, *queue, a->duration, a->name, r);
        }
        break;
      case shaping::Action::kLimit: {
        auto until = now + a->duration;
        if (site.limited_until < until) {
          shaping::Effective limited = site.base;
          shaping::Layer(limited, a->limit, "rule " + a->name);
          limited.automation = site.base.automation;
          ApplySettings(site, std::move(limited));
          site.limited_until = until;
          Announce(site, a->name, "limit", until, &r);
          WakeAt(site, until);
        }
        break;
      }
      case shaping::Action::kBounce:
        bounce = true;
        break;
    }
  }
  return bounce;
}

void Dispatcher::ConnectFailed(Site& site, const smtp::Reply& r) {
  ++site.fail_streak;
  if (opts_.failure_backoff.count() > 0) {
    // Dead-destination back-off, doubling per failure in a row.
    auto backoff = opts_.failure_backoff;
    for (std::uint32_t i = 1; i < site.fail_streak && backoff < opts_.max_failure_backoff; ++i) {
      backoff *= 2;
    }
    backoff = std::min(backoff, opts_.max_failure_backoff);
    SuspendPath(site, backoff,
                fmt::format("built-in: {} failed connection{} in a row", site.fail_streak,
                            site.fail_streak == 1 ? "" : "s"),
                &r);
  }
}

void Dispatcher::Succeeded(Site& site) {
  site.fail_streak = 0;
  if (site.cap > 0) {
    site.cap += 1.0 / site.cap;
    if (site.cap >= site.settings.connection_limit) {
      site.cap = 0;  // recovered
    }
  }
}

void Dispatcher::Kick(Site& site) {
  if (site.suspended_until > shaping::Clock::now()) {
    WakeAt(site, site.suspended_until);  // its mail waits in the ready queue
    return;
  }
  for (auto* t : site.idle) {
    t->cancel();  // wake idle connections
  }
  // Each running connection takes one waiting item next; open more while the
  // ready queue is longer than that, up to the limit.
  while (site.active < ConnectionLimit(site) && site.ready.size() > site.active) {
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
      co_await Pace(site.connection_rate);
      smtp::ClientOptions client = opts_.client;
      client.source_address = sources_[site.source].address;
      client.ehlo_name = sources_[site.source].ehlo_name;
      client.tls = site.settings.tls == shaping::Tls::kDisabled   ? smtp::TlsPolicy::kDisabled
                   : site.settings.tls == shaping::Tls::kRequired ? smtp::TlsPolicy::kRequired
                                                                  : smtp::TlsPolicy::kOpportunistic;
      auto c = co_await smtp::ClientConnection::Open(ioc_.get_executor(), ip, port, mx.host, client,
                                                     tls_ctx_);
      if (c) {
        ++stats_.connections;
        co_return std::move(c).value();
      }
      const auto& f = c.error();
      if (f.reply) {
        // A refusing greeting or EHLO: try the next host, but report what it said
        // as a deferral (RFC 5321 §3.9: 421 means try later).
        // A 4xx keeps its code (421 tells the shaping what happened).
        last = {f.reply->code / 100 == 4 ? f.reply->code : 451,
                f.reply->enhanced.empty() ? "4.4.0" : "4" + f.reply->enhanced.substr(1),
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
    if (site->suspended_until > shaping::Clock::now() || site->active > ConnectionLimit(*site)) {
      break;  // a rule, a back-off or a 421 says: fewer connections now
    }
    // Mail of a tenant or campaign suspended on the site since it was queued
    // goes back to the schedule, rather than open a connection for it.
    while (!site->ready.empty()) {
      auto until = self->GroupSuspended(site->ready.front().queue, site->route_site);
      if (!until) {
        break;
      }
      self->GiveBackWarmup(*site);
      self->Hold(site->ready.front(), *until);
      site->ready.pop_front();
    }
    if (site->ready.empty()) {
      if (!conn || !conn->usable()) {
        break;
      }
      // Idle: keep the connection for more mail to this site, for a while. A
      // wake-up whose work another connection took first waits out the rest.
      asio::steady_timer idle(self->ioc_);
      auto until = std::chrono::steady_clock::now() + site->settings.idle_timeout;
      site->idle.insert(&idle);
      while (site->ready.empty() && std::chrono::steady_clock::now() < until &&
             site->suspended_until <= shaping::Clock::now()) {
        idle.expires_at(until);
        co_await idle.async_wait(kTuple);
      }
      site->idle.erase(&idle);
      if (site->ready.empty()) {
        break;
      }
      continue;
    }
    if (!conn || !conn->usable() || sent >= site->settings.max_deliveries_per_connection) {
      if (conn) {
        co_await conn->Quit();
        conn.reset();
      }
      auto opened = co_await self->Connect(*site);
      if (!opened) {
        // What the receiver said (or what went wrong) may match a rule.
        self->Observe(*site, opened.error(), std::nullopt);
        self->ConnectFailed(*site, opened.error());
        // Dead destination: defer what waits for it rather than retrying each now.
        for (std::size_t n = 1; !site->ready.empty(); ++n) {
          queue::WorkItem w = site->ready.front();
          site->ready.pop_front();
          self->FailItem(w, opened.error(), site);
          if (n % 256 == 0) {
            co_await asio::post(self->ioc_, asio::use_awaitable);
          }
        }
        break;
      }
      conn = std::move(opened).value();
      sent = 0;
      site->fail_streak = 0;
    }
    if (site->ready.empty()) {
      continue;  // another connection took the work while this one connected
    }
    if (site->message_rate && conn) {
      auto free_at = site->message_rate->NextFree(shaping::Clock::now());
      if (free_at - shaping::Clock::now() > site->settings.idle_timeout) {
        // A long wait for the next slot: do not hold the receiver's session
        // meanwhile (it would drop it); connect again when the slot comes.
        co_await conn->Quit();
        conn.reset();
        asio::steady_timer t(self->ioc_);
        t.expires_at(free_at);
        co_await t.async_wait(kTuple);
        continue;
      }
    }
    queue::WorkItem w = std::move(site->ready.front());
    site->ready.pop_front();
    if (auto until = self->GroupSuspended(w.queue, site->route_site)) {
      // Its tenant or campaign was suspended on this site after it was queued.
      self->GiveBackWarmup(*site);
      self->Hold(w, *until);
      continue;
    }
    co_await self->Pace(site->message_rate);
    if (self->Suspended(w.queue)) {
      // An operator suspended it while it waited for its slot.
      self->GiveBackWarmup(*site);
      self->held_[w.queue].push_back(w);
      self->Evict(w.id);
      continue;
    }
    co_await self->Deliver(*conn, *site, w);
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
  o.queue = names_.Name(w.queue);
  o.tenant = m.meta.tenant;
  o.campaign = m.meta.campaign;
  o.site = site ? site->name : "";
  if (conn) {
    o.mx_host = conn->mx_host();
    o.mx_ip = conn->peer_ip();
    o.tls_version = conn->tls_info().version;
    o.tls_cipher = conn->tls_info().cipher;
  }
  o.egress_source = site ? sources_[site->source].address : opts_.client.source_address;
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
        f.retry_until = o.received + RetryFor(site).max_age;
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
               report_id.Hex(), m.meta.id.Hex(), m.meta.envelope.sender.ToString());
  spool_.Store(meta, {}, std::move(report), [this, meta](Result<Ok, spool::SpoolError> r) {
    if (!r) {
      spdlog::error("cannot spool failure report {}: {}", meta.id.Hex(),
                    spool::ToString(r.error()));
      return;
    }
    Submit(meta);
  });
}

awaitable<void> Dispatcher::Deliver(smtp::ClientConnection& conn, Site& site, queue::WorkItem w) {
  MessageState* m = Acquire(w);
  if (m == nullptr) {
    GiveBackWarmup(site);
    co_return;  // finished meanwhile
  }
  std::vector<std::uint32_t> todo = PendingFor(*m, w.queue);
  if (todo.empty()) {
    GiveBackWarmup(site);
    Release(*m);
    co_return;
  }
  // The message is read a piece (1 MiB) at a time as it is sent; the first
  // piece now, so a message that cannot be read fails before a transaction.
  auto first = spool_.ReadDataChunk(w.id, 0);
  if (!first) {
    Release(*m);
    FailItem(w, Reply{451, "4.3.0", "spool read failed"}, &site);
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
    auto piece = spool_.ReadDataChunk(id, i);
    if (!piece) {
      return i != 0 && piece.error() == spool::SpoolError::kNotFound ? Piece::kEnd : Piece::kError;
    }
    out = std::move(piece).value();
    return Piece::kData;
  };
  std::vector<std::uint32_t> pending;
  bool accepted = false;  // by the receiver, for any recipient (what warm-up counts)
  const std::size_t per_txn =
      std::max<std::uint32_t>(1, site.settings.max_recipients_per_transaction);
  for (std::size_t start = 0; start < todo.size(); start += per_txn) {
    std::vector<std::size_t> chunk(
        todo.begin() + static_cast<std::ptrdiff_t>(start),
        todo.begin() + static_cast<std::ptrdiff_t>(std::min(todo.size(), start + per_txn)));
    auto began = std::chrono::steady_clock::now();
    auto result = co_await conn.Send(m->meta.envelope, chunk, body);
    ++stats_.transactions;
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - began);
    // The shaping sees each distinct reply of a transaction once (a failed
    // MAIL or DATA gives every recipient the same one), and one success.
    std::vector<std::pair<const Reply*, bool>> observed;  // reply, rule says bounce
    auto rule_bounce_for = [&](const Reply& r) {
      for (const auto& [seen, bounce] : observed) {
        if (seen->code == r.code && seen->enhanced == r.enhanced && seen->text == r.text) {
          return bounce;
        }
      }
      bool bounce = Observe(site, r, w.queue);
      observed.emplace_back(&r, bounce);
      return bounce;
    };
    bool any_success = false;
    for (std::size_t k = 0; k < chunk.size(); ++k) {
      auto rcpt = static_cast<std::uint32_t>(chunk[k]);
      if (m->meta.IsDone(rcpt)) {
        continue;  // an operator bounced it while this transaction ran
      }
      const Reply& r = result.recipients[k];
      const bool rule_bounce = r.code / 100 != 2 && rule_bounce_for(r);
      if (r.code / 100 == 2) {
        any_success = true;
        Record(events::OutcomeType::kDelivery, *m, rcpt, w, r, &site, &conn, took);
        m->meta.done[rcpt] |= spool::Meta::kFinal;
      } else if (r.code >= 500 || rule_bounce) {
        Record(events::OutcomeType::kBounce, *m, rcpt, w, r, &site, &conn, took);
        m->meta.done[rcpt] |= spool::Meta::kFinal;
      } else {
        Record(events::OutcomeType::kTransientFailure, *m, rcpt, w, r, &site, &conn, took);
        pending.push_back(rcpt);
      }
    }
    if (any_success) {
      accepted = true;
      Succeeded(site);
    }
    if (!result.connection_usable) {
      for (std::size_t j = start + chunk.size(); j < todo.size(); ++j) {
        pending.push_back(todo[j]);
      }
      break;
    }
  }
  if (!accepted) {
    GiveBackWarmup(site);
  }
  FinishItem(*m, w, std::move(pending), &site);
  Release(*m);
}

QueueSummary Dispatcher::Summary() const {
  QueueSummary out;
  std::map<std::uint32_t, QueueSummary::Queue> queues;
  auto count = [&](const queue::WorkItem& w) {
    auto& q = queues[w.queue];
    auto received = static_cast<std::int64_t>(w.id.micros());
    auto due =
        std::chrono::duration_cast<std::chrono::microseconds>(w.due.time_since_epoch()).count();
    q.oldest_us = q.messages == 0 ? received : std::min(q.oldest_us, received);
    q.next_due_us = q.messages == 0 ? due : std::min(q.next_due_us, due);
    ++q.messages;
  };
  scheduler_.ForEach(count);
  for (const auto& [q, items] : held_) {
    std::for_each(items.begin(), items.end(), count);
  }
  for (const auto& [q, items] : resolving_) {
    std::for_each(items.begin(), items.end(), count);
  }
  for (const auto& [name, site] : sites_) {
    std::for_each(site->ready.begin(), site->ready.end(), count);
    out.sites.push_back(
        {name, site->ready.size(), site->active,
         site->suspended_until > shaping::Clock::now() ? WallMicros(site->suspended_until) : 0});
  }
  for (auto& [index, q] : queues) {
    q.name = names_.Name(index);
    q.suspended = Suspended(index);
    out.queues.push_back(q);
  }
  for (const auto& [target, until] : suspended_) {
    out.held.push_back(
        {names_.Name(target),
         until == Clock::time_point::max()
             ? 0
             : std::chrono::duration_cast<std::chrono::microseconds>(until.time_since_epoch())
                   .count()});
  }
  auto now = shaping::Clock::now();
  for (const auto& [key, until] : group_suspensions_) {
    if (until <= now) {
      continue;
    }
    // "tenant NAME|site" or "campaign NAME:TENANT|site"
    QueueSummary::GroupSuspension g;
    auto space = key.find(' ');
    auto bar = key.find('|');
    g.scope = key.substr(0, space);
    std::string who = key.substr(space + 1, bar - space - 1);
    if (g.scope == "campaign") {
      auto colon = who.find(':');
      g.campaign = who.substr(0, colon);
      g.tenant = who.substr(colon + 1);
    } else {
      g.tenant = who;
    }
    g.site = key.substr(bar + 1);
    g.until_us = std::chrono::duration_cast<std::chrono::microseconds>(
                     (Clock::now() + std::chrono::duration_cast<Clock::duration>(until - now))
                         .time_since_epoch())
                     .count();
    out.suspensions.push_back(std::move(g));
  }
  return out;
}

std::size_t Dispatcher::Flush(const std::string& target) {
  std::function<bool(std::uint32_t)> match;
  if (!target.empty()) {
    match = [this, t = names_.Intern(target)](std::uint32_t queue) {
      return names_.Covers(t, queue);
    };
  }
  std::size_t n = scheduler_.Flush(match, Clock::now());
  wake_.cancel();
  return n;
}

std::size_t Dispatcher::Suspend(const std::string& target,
                                std::optional<std::chrono::milliseconds> how_long) {
  const std::uint32_t t = names_.Intern(target);
  suspended_[t] = how_long ? Clock::now() + *how_long : Clock::time_point::max();
  SaveSuspensions();
  wake_.cancel();  // the loop wakes for the end of it
  // Mail already past the schedule (routing, or in a ready queue) stops too;
  // only transactions in progress finish.
  // (What waits in the schedule is held when it comes due.)
  std::size_t n = 0;
  auto hold = [&](const queue::WorkItem& w) {
    if (!names_.Covers(t, w.queue)) {
      return false;
    }
    held_[w.queue].push_back(w);
    Evict(w.id);
    ++n;
    return true;
  };
  for (auto& [name, site] : sites_) {
    std::erase_if(site->ready, [&](const queue::WorkItem& w) {
      if (!hold(w)) {
        return false;
      }
      GiveBackWarmup(*site);  // taken on the way in
      return true;
    });
  }
  for (auto& [domain, waiting] : resolving_) {
    std::erase_if(waiting, hold);  // emptied entries stay until their Route() ends
  }
  return n;
}

std::size_t Dispatcher::Resume(const std::string& target) {
  auto q = names_.Find(target);
  if (!q) {
    return 0;
  }
  suspended_.erase(*q);
  SaveSuspensions();
  return ReleaseHeld();
}

std::size_t Dispatcher::BounceItem(const queue::WorkItem& w, bool whole_message) {
  // A whole-message bounce comes with a made-up item: nothing to put back.
  MessageState* m = Acquire(w, !whole_message);
  if (m == nullptr) {
    return 0;
  }
  std::size_t n = 0;
  const auto& rcpts = m->meta.envelope.recipients;
  const std::string* domain = whole_message ? nullptr : &names_.DomainName(w.queue);
  for (std::uint32_t i = 0; i < rcpts.size(); ++i) {
    if (m->meta.IsDone(i) || (domain && rcpts[i].address.ascii_domain != *domain)) {
      continue;
    }
    queue::WorkItem item = w;
    item.queue = QueueOf(m->meta, rcpts[i].address.ascii_domain);
    Record(events::OutcomeType::kAdminBounce, *m, i, item,
           Reply{550, "5.0.0", "administratively bounced"}, nullptr, nullptr, {});
    m->meta.done[i] |= spool::Meta::kFinal;
    ++n;
  }
  if (n > 0) {
    Persist(*m);
  }
  Release(*m);
  return n;
}

std::vector<queue::WorkItem> Dispatcher::TakeItems(
    const std::function<bool(const queue::WorkItem&)>& match) {
  std::vector<queue::WorkItem> items = scheduler_.Extract(match);
  auto take = [&](const queue::WorkItem& w) {
    if (match(w)) {
      items.push_back(w);
      return true;
    }
    return false;
  };
  for (auto it = held_.begin(); it != held_.end();) {
    std::erase_if(it->second, take);
    it = it->second.empty() ? held_.erase(it) : std::next(it);
  }
  for (auto& [name, site] : sites_) {
    // These took a warm-up allowance on the way in.
    std::erase_if(site->ready, [&](const queue::WorkItem& w) {
      if (!take(w)) {
        return false;
      }
      GiveBackWarmup(*site);
      return true;
    });
  }
  for (auto& [q, waiting] : resolving_) {
    std::erase_if(waiting, take);  // emptied entries stay until their Route() ends
  }
  return items;
}

std::size_t Dispatcher::AdminBounce(const std::string& target) {
  // Administrative bounces record AdminBounce events and send no report.
  if (auto id = SpoolId::FromHex(target)) {
    std::size_t n = BounceItem(queue::WorkItem{*id, Clock::now(), 0, 0}, true);
    if (n > 0) {  // every pending recipient is final: its work items are void
      TakeItems([&](const queue::WorkItem& w) { return w.id == *id; });
    }
    return n;
  }
  const std::uint32_t t = names_.Intern(target);
  std::size_t n = 0;
  for (const auto& w :
       TakeItems([&](const queue::WorkItem& w) { return names_.Covers(t, w.queue); })) {
    n += BounceItem(w, false);
  }
  return n;
}

void Dispatcher::FailItem(queue::WorkItem w, const Reply& r, const Site* site) {
  if (site != nullptr) {
    GiveBackWarmup(*site);  // taken for this path, and not accepted
  }
  MessageState* m = Acquire(w);
  if (m == nullptr) {
    return;
  }
  std::vector<std::uint32_t> pending;
  for (auto rcpt : PendingFor(*m, w.queue)) {
    if (r.code >= 500) {
      Record(events::OutcomeType::kBounce, *m, rcpt, w, r, site, nullptr, {});
      m->meta.done[rcpt] |= spool::Meta::kFinal;
    } else {
      Record(events::OutcomeType::kTransientFailure, *m, rcpt, w, r, site, nullptr, {});
      pending.push_back(rcpt);
    }
  }
  FinishItem(*m, w, std::move(pending), site);
  Release(*m);
}

queue::RetryPolicy Dispatcher::RetryFor(const Site* site) const {
  queue::RetryPolicy p = opts_.retry;
  if (site != nullptr) {
    const auto& r = site->settings.retry;
    p.first_retry = r.first_retry.value_or(p.first_retry);
    p.max_interval = r.max_retry_interval.value_or(p.max_interval);
    p.backoff_factor = r.backoff_factor.value_or(p.backoff_factor);
    p.max_age = r.max_age.value_or(p.max_age);
  }
  return p;
}

void Dispatcher::FinishItem(MessageState& m, queue::WorkItem w, std::vector<std::uint32_t> pending,
                            const Site* site) {
  ++w.attempts;
  m.meta.attempts = std::max(m.meta.attempts, w.attempts);
  auto now = Clock::now();
  const queue::RetryPolicy retry = RetryFor(site);
  if (!pending.empty() && now - FromMicros(m.meta.received_us) >= retry.max_age) {
    Reply expired{451, "4.4.7",
                  "message expired after " + std::to_string(w.attempts) + " attempts"};
    for (auto rcpt : pending) {
      Record(events::OutcomeType::kExpiration, m, rcpt, w, expired, nullptr, nullptr, {});
      m.meta.done[rcpt] |= spool::Meta::kFinal;
    }
    pending.clear();
  }
  SendReports(m);
  if (!pending.empty()) {
    w.due = now + queue::RetryDelay(retry, w.attempts, rng_);
    m.meta.due_us =
        std::chrono::duration_cast<std::chrono::microseconds>(w.due.time_since_epoch()).count();
    AddWork(w);
  }
  Persist(m);
}

void Dispatcher::Persist(MessageState& m) {
  bool all_done = std::all_of(m.meta.done.begin(), m.meta.done.end(),
                              [](std::uint8_t d) { return (d & spool::Meta::kFinal) != 0; });
  if (all_done) {
    SpoolId id = m.meta.id;
    m.removed = true;
    // The outcomes first, then the removal: should the removal not reach the
    // disk, the restart scan finds every recipient final and removes the
    // message rather than deliver it again. (The spool retries both, in
    // order, after a failed write.)
    spool_.UpdateMeta(m.meta, [](Result<Ok, spool::SpoolError>) {});
    spool_.Remove(id, m.meta.size, [id](Result<Ok, spool::SpoolError> r) {
      if (!r) {
        spdlog::error("spool remove {}: {}", id.Hex(), spool::ToString(r.error()));
      }
    });
    return;
  }
  spool_.UpdateMeta(m.meta, [id = m.meta.id](Result<Ok, spool::SpoolError> r) {
    if (!r) {
      spdlog::error("spool update {}: {}", id.Hex(), spool::ToString(r.error()));
    }
  });
}

}  // namespace sluice::delivery
