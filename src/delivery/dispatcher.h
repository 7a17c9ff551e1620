#pragma once
// Security: sends accepted mail to remote servers chosen by DNS.
// Standards: RFC 5321 §4.5.4 (retry strategy), §5.1 (MX, next MX on failure),
//            RFC 3463 (enhanced codes in events).
//
// Life of a work item (one message, one destination domain, 32 bytes):
//   Scheduler (due time) -> the domain's route (cached, or one MX lookup per
//   domain -> site) -> the site's ready queue -> a pooled connection (at most
//   connection_limit per site, reused for up to max_deliveries_per_connection
//   messages, closed after idle_timeout) -> the metadata and body are read
//   from the spool -> per-recipient outcome: 2xx Delivery, 5xx Bounce, 4xx
//   TransientFailure and a retry with back-off, or Expiration past max_age.
// All state lives on one io_context; Submit() may be called from any thread.
// Memory: only messages in use keep their metadata in memory; a queued one
// costs its work items.
// Durability: a message leaves the spool only when every recipient is final.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_timer.hpp>

#include "bounce/dsn.h"
#include "dns/resolver.h"
#include "events/events.h"
#include "queue/queue_name.h"
#include "queue/retry.h"
#include "queue/scheduler.h"
#include "shaping/gcra.h"
#include "shaping/rules.h"
#include "shaping/warmup.h"
#include "smtp/client/client.h"
#include "spool/spool.h"

namespace sluice::delivery {

// A next hop named by configuration instead of DNS MX records.
struct RouteHost {
  std::string host;        // name or "[address literal]"
  std::uint16_t port = 0;  // 0: Options::port
};

// A local address outbound connections are bound to, with the name it gives
// in EHLO (its PTR name, ideally).
struct EgressSource {
  std::string name;
  std::string address;
  std::string ehlo_name;
};

// A named, weighted set of egress sources.
struct EgressPool {
  std::string name;
  std::vector<std::size_t> sources;    // indices into Options::sources
  std::vector<std::uint32_t> weights;  // one per source
};

// Parses "host", "host:port", "[192.0.2.1]:port" or "[IPv6:2001:db8::1]".
std::optional<RouteHost> ParseRouteHost(std::string_view text);

struct Options {
  smtp::ClientOptions client;
  std::uint16_t port = 25;              // destination port
  std::uint32_t connection_limit = 10;  // per site
  std::uint32_t max_deliveries_per_connection = 100;
  std::uint32_t max_recipients_per_transaction = 100;
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(5);
  // Dead-destination back-off: after a failed connection to a site, no new
  // attempt on that path for this long, doubling with each failure in a row up
  // to the maximum. Zero: off.
  std::chrono::milliseconds failure_backoff = std::chrono::seconds(30);
  std::chrono::milliseconds max_failure_backoff = std::chrono::minutes(10);
  queue::RetryPolicy retry;
  // A recipient that asked for delay reports (NOTIFY=DELAY) gets one once its
  // message has waited this long; zero: never.
  std::chrono::milliseconds delay_warning = std::chrono::hours(4);
  // Routing overrides: for a domain, hosts tried in order instead of its MX
  // records. The key "*" (the smarthost) applies to every domain without its own.
  std::map<std::string, std::vector<RouteHost>> routes;
  // Traffic shaping rules layered over the settings above, per site (may be null).
  std::shared_ptr<const shaping::Rules> shaping;
  // The egress sources mail is sent from, used in smooth weighted round robin
  // within a pool. Empty: one source, client.source_address (or any).
  std::vector<EgressSource> sources;
  std::vector<std::uint32_t> weights;  // one per source, in the implicit pool of all
  // Named pools. A message goes to its campaign's pool, else its tenant's, else
  // `default_pool`, else to the implicit pool of every source.
  std::vector<EgressPool> pools;
  std::string default_pool;
  std::map<std::string, std::string> tenant_pools;    // tenant -> pool name
  std::map<std::string, std::string> campaign_pools;  // "campaign:tenant" -> pool name
  // Warm-up schedules by source name (may be null), and where their counts live.
  std::shared_ptr<shaping::Warmup> warmup;
  std::string warmup_state_file;
  // Where suspensions by reply rules are kept over restarts (empty: not kept).
  std::string shaping_state_file;
  // Where operator suspensions are kept over restarts (empty: not kept).
  std::string suspensions_file;
};

// The [delivery] settings as the base layer of shaping (shaping::Resolve).
shaping::Effective BuiltinShaping(const Options& opts);

// The pool mail of a tenant and campaign (either may be empty) goes out from:
// the campaign's, else the tenant's, else the default pool; null means every
// source. `why` says which rule chose it.
struct PoolChoice {
  const EgressPool* pool = nullptr;
  std::string why;
};
PoolChoice ChoosePool(const Options& opts, const std::string& tenant, const std::string& campaign);

// Operator view of the queues (admin interface).
struct QueueSummary {
  struct Queue {
    std::string name;              // the queue: "campaign:tenant@domain", tags optional
    std::uint64_t messages = 0;    // waiting (not counting those being sent right now)
    std::int64_t oldest_us = 0;    // earliest reception among them
    std::int64_t next_due_us = 0;  // earliest due time among them
    bool suspended = false;
  };
  struct SiteInfo {
    std::string name;
    std::uint64_t ready = 0;
    std::uint32_t connections = 0;
    std::int64_t suspended_until_us = 0;  // a rule's or back-off's suspension; 0: none
  };
  std::vector<Queue> queues;
  std::vector<SiteInfo> sites;
  // Tenant and campaign suspensions in force (shaping rules with a scope).
  struct GroupSuspension {
    std::string scope;  // "tenant" or "campaign"
    std::string tenant;
    std::string campaign;
    std::string site;
    std::int64_t until_us = 0;
  };
  std::vector<GroupSuspension> suspensions;
  // Operator suspensions: target and end (0: until resumed).
  struct Held {
    std::string target;
    std::int64_t until_us = 0;
  };
  std::vector<Held> held;
};

struct Stats {
  std::uint64_t connections = 0;
  std::uint64_t transactions = 0;
};

class Dispatcher {
 public:
  Dispatcher(boost::asio::io_context& ioc, Options opts, dns::Resolver& resolver,
             spool::Spool& spool, events::Bus& bus);
  ~Dispatcher();

  // Queues a newly stored message. Thread-safe.
  void Submit(spool::Meta meta);
  // Queues a message found in the spool at start-up. Call before Start(), from
  // the thread that owns the dispatcher; unlike Submit() it keeps no metadata
  // in memory, only the 32-byte schedule entries.
  void Restore(const spool::Meta& meta);
  // Starts the scheduler. The owner stops delivery by stopping the io_context.
  void Start();
  Stats stats() const { return stats_; }

  // Operator controls. Call them on the dispatcher's io_context. A target is
  // a filter in queue-name form (queue::QueueNames::Covers): "example.com",
  // "acme@example.com", "spring:acme@*" ...
  QueueSummary Summary() const;
  // Makes deferred mail of `target` (all, if empty) due now; returns work items.
  std::size_t Flush(const std::string& target);
  // A suspended target keeps its mail queued, undelivered, until resumed or
  // `how_long` has passed (nullopt: until resumed). Mail already routed or
  // waiting for a connection is held too; returns how many such work items.
  std::size_t Suspend(const std::string& target,
                      std::optional<std::chrono::milliseconds> how_long = std::nullopt);
  std::size_t Resume(const std::string& target);
  // Gives up on the pending recipients of a target, or of the message with that
  // id: AdminBounce events, no report. Returns the number of recipients.
  std::size_t AdminBounce(const std::string& target_or_id);
  // Replaces the shaping rules; sites take them up as their routes refresh
  // (at once: the route cache is cleared). Call on the dispatcher's io_context.
  void SetShaping(std::shared_ptr<const shaping::Rules> rules);
  // Warm-up progress (admin interface).
  std::vector<shaping::Warmup::SourceStatus> WarmupStatus() const;
  // Writes what changed of the state kept over restarts (warm-up counts,
  // suspensions by reply rules); every second, and at shutdown.
  void SaveState();

 private:
  // A message whose metadata is in memory: while deliveries or operator actions
  // use it (`users`), and new mail until its first delivery. Everything else
  // is read back from the spool when its turn comes.
  struct MessageState {
    explicit MessageState(spool::Meta m) : meta(std::move(m)) {}
    spool::Meta meta;
    std::uint32_t users = 0;
    bool removed = false;  // every recipient final; the spool removal is queued
    // Recipients awaiting a report to the sender, by kind.
    std::vector<bounce::ReportedRecipient> failed;
    std::vector<bounce::ReportedRecipient> delayed;
    std::vector<bounce::ReportedRecipient> relayed;
  };
  // A ready queue: one egress source to one site (MX host set). Shaping,
  // connections and rates are per Site.
  struct Site {
    std::string name;
    std::string route_site;        // the site without the source (for tenant suspensions)
    std::string provider;          // the shaping provider, or "other" (warm-up counts)
    std::size_t source = 0;        // index into sources_
    std::vector<RouteHost> hosts;  // in the order to try
    std::deque<queue::WorkItem> ready;
    std::uint32_t active = 0;
    shaping::Effective settings;                 // limits in force
    shaping::Effective base;                     // the same without a rule's temporary limit
    std::shared_ptr<const shaping::Rules> rules;  // keeps settings.automation alive
    queue::Clock::time_point settings_expire{};  // re-resolve with the route after
    // Adaptation to what the receiver says.
    shaping::Clock::time_point suspended_until{};
    shaping::Clock::time_point kept_until{};  // a reply rule's suspension (kept over restarts)
    shaping::Clock::time_point limited_until{};
    // Recent matches of threshold rules, per rule (and per group, for tenant
    // and campaign rules).
    std::map<std::pair<const shaping::Automation*, std::string>,
             std::deque<shaping::Clock::time_point>>
        hits;
    double cap = 0;  // reduced concurrency after 421s (0: not reduced); grows back slowly
    std::uint32_t fail_streak = 0;
    std::unique_ptr<boost::asio::steady_timer> wake;  // end of a suspension or limit
    std::optional<shaping::Gcra> message_rate;   // max_message_rate
    std::optional<shaping::Gcra> connection_rate;  // max_connection_rate
    // The idle-wait timers of connections waiting for work; Kick() wakes them.
    std::set<boost::asio::steady_timer*> idle;
  };

  // The queue of a message's mail to `domain` (its tenant and campaign's).
  std::uint32_t QueueOf(const spool::Meta& meta, const std::string& domain);
  // Schedules the pending recipients' domains; false if none is left.
  bool Enqueue(const spool::Meta& meta, std::int64_t now_us);
  void AddWork(queue::WorkItem w);
  // The state of w's message, loaded from the spool if need be, with a use
  // counted; null if it is gone (finished meanwhile), or unreadable (then `w`
  // is rescheduled, if `requeue`). Release() when done with it.
  MessageState* Acquire(const queue::WorkItem& w, bool requeue = true);
  void Release(MessageState& m);
  void Evict(const SpoolId& id);
  // Recipients of `m` for the work item's domain still without a final outcome.
  std::vector<std::uint32_t> PendingFor(const MessageState& m, std::uint32_t queue) const;

  static boost::asio::awaitable<void> ScheduleLoop(Dispatcher* self);
  // Due work goes to its site's ready queue; a domain whose route is not known
  // (or is stale) waits while one Route() per domain looks it up.
  void Dispatch(const queue::WorkItem& w, queue::Clock::time_point now);
  static boost::asio::awaitable<void> Route(Dispatcher* self, std::uint32_t queue);
  static boost::asio::awaitable<void> RunConnection(Dispatcher* self, Site* site);
  boost::asio::awaitable<Result<std::shared_ptr<smtp::ClientConnection>, smtp::Reply>> Connect(
      Site& site);
  boost::asio::awaitable<void> Deliver(smtp::ClientConnection& conn, Site& site,
                                       queue::WorkItem w);
  void Kick(Site& site);
  // The built-in settings (this dispatcher's Options) as shaping defaults.
  shaping::Effective Builtin() const;
  void ApplySettings(Site& site, shaping::Effective settings);
  // The connections a site may have now (its limit, or less after 421s).
  static std::uint32_t ConnectionLimit(const Site& site);
  // A failure reply seen on a path (for a message of `queue`, if in a
  // transaction): the built-in reaction to 421 and the shaping rules; true if
  // a rule says the recipient is to bounce.
  bool Observe(Site& site, const smtp::Reply& r, std::optional<std::uint32_t> queue);
  // Tenant and campaign suspensions on a site (rules with a scope).
  void SuspendGroup(const Site& site, shaping::Scope scope, std::uint32_t queue,
                    shaping::Clock::duration how_long, const std::string& rule,
                    const smtp::Reply& reply);
  // When mail of `queue` on `route_site` may go again, if its tenant or campaign is suspended.
  std::optional<shaping::Clock::time_point> GroupSuspended(std::uint32_t queue,
                                                           const std::string& route_site);
  // Puts an item back in the schedule until `until` (no attempt is counted).
  void Hold(const queue::WorkItem& w, shaping::Clock::time_point until);
  // The warm-up allowance an item took on `site`, back: the receiver did not accept it.
  void GiveBackWarmup(const Site& site);
  void ConnectFailed(Site& site, const smtp::Reply& r);
  void Succeeded(Site& site);
  // `keep`: a reply rule's suspension, kept over restarts (a built-in
  // back-off is not).
  void SuspendPath(Site& site, shaping::Clock::duration how_long, const std::string& rule,
                   const smtp::Reply* reply, bool keep = false);
  void Announce(const Site& site, const std::string& rule, const std::string& action,
                shaping::Clock::time_point until, const smtp::Reply* reply,
                const queue::QueueName* group = nullptr);
  void WakeAt(Site& site, shaping::Clock::time_point at);
  // Waits, if need be, for the site's next slot under `rate`.
  boost::asio::awaitable<void> Pace(std::optional<shaping::Gcra>& rate);

  // Outcomes.
  void Record(events::OutcomeType type, MessageState& m, std::uint32_t rcpt,
              const queue::WorkItem& w, const smtp::Reply& r, const Site* site,
              const smtp::ClientConnection* conn, std::chrono::milliseconds took);
  // Reschedules `pending` (or expires them), sends reports, persists.
  void FinishItem(MessageState& m, queue::WorkItem w, std::vector<std::uint32_t> pending,
                  const Site* site);
  // [queue] retry settings, with the site's shaping overrides.
  queue::RetryPolicy RetryFor(const Site* site) const;
  // The same reply for every pending recipient of the item (connection or DNS failure).
  void FailItem(queue::WorkItem w, const smtp::Reply& r, const Site* site);
  void Persist(MessageState& m);
  // Queues RFC 3464 reports to the sender for the recipients gathered in `m`.
  void SendReports(MessageState& m);
  void SendReport(MessageState& m, bounce::ReportAction action,
                  std::vector<bounce::ReportedRecipient> recipients);
  std::size_t BounceItem(const queue::WorkItem& w, bool whole_message);
  // Takes matching work items out of the schedule, the suspended hold and the
  // sites' ready queues.
  std::vector<queue::WorkItem> TakeItems(const std::function<bool(const queue::WorkItem&)>& match);

  boost::asio::io_context& ioc_;
  Options opts_;
  dns::Resolver& resolver_;
  spool::Spool& spool_;
  events::Bus& bus_;
  std::shared_ptr<boost::asio::ssl::context> tls_ctx_;
  queue::QueueNames names_;
  queue::Scheduler scheduler_;
  boost::asio::system_timer wake_;
  std::map<SpoolId, MessageState> messages_;
  std::map<std::string, std::unique_ptr<Site>> sites_;
  struct KnownRoute {
    std::string site_name;     // the MX host set (or route, or domain of its own)
    std::vector<RouteHost> hosts;
    std::string domain;        // for domain shaping rules
    queue::Clock::time_point expires;
    std::string provider;      // shaping provider, or "other" (warm-up counts)
  };
  // The ready queue for a work item on a route, from the next source of the
  // pool with warm-up room; null if none has room today (the item is then
  // rescheduled for the next day).
  Site* PathFor(const KnownRoute& route, const queue::WorkItem& w);
  Site& PathForSource(const KnownRoute& route, std::size_t source);
  static boost::asio::awaitable<void> SaveStateLoop(Dispatcher* self);
  void LoadShapingState();
  bool warmup_dirty_ = false;
  bool shaping_dirty_ = false;
  // Paths suspended by a reply rule before a restart, until first used again.
  std::map<std::string, shaping::Clock::time_point> restored_paths_;
  struct Pool {
    std::string name;
    std::vector<std::size_t> sources;
    std::vector<std::int64_t> weights;
    std::vector<std::int64_t> current;  // smooth weighted round robin state
  };
  // The pool index for mail of `queue` (cached per queue).
  std::size_t PoolFor(std::uint32_t queue);
  std::size_t PickSource(Pool& pool);
  std::vector<EgressSource> sources_;
  std::vector<Pool> pools_;
  std::vector<std::uint32_t> queue_pool_;  // by queue index; kUnknownPool until looked up
  // Tenant and campaign suspensions: "tenant NAME|site" or "campaign NAME:TENANT|site".
  std::map<std::string, shaping::Clock::time_point> group_suspensions_;
  std::unordered_map<std::uint32_t, KnownRoute> route_cache_;        // by domain (queue index)
  std::map<std::uint32_t, std::vector<queue::WorkItem>> resolving_;  // by domain: awaiting a route
  // Operator suspensions: targets (filters over queue names) and when each ends.
  bool Suspended(std::uint32_t queue) const;
  // Operator suspensions to and from Options::suspensions_file ("until_us
  // target" lines, 0 for until resumed), written whole and renamed into place.
  void LoadSuspensions();
  void SaveSuspensions();
  // Ends the suspensions whose time is up, releasing their mail.
  void EndSuspensions(queue::Clock::time_point now);
  // Puts held mail no target suspends any more back in the schedule; how many items.
  std::size_t ReleaseHeld();
  // Target -> until (time_point::max(): until resumed by hand).
  std::map<std::uint32_t, queue::Clock::time_point> suspended_;
  std::map<std::uint32_t, std::vector<queue::WorkItem>> held_;  // due, but suspended
  std::mt19937 rng_{std::random_device{}()};
  Stats stats_;
};

}  // namespace sluice::delivery
