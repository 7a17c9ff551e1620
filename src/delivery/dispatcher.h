#pragma once
// Security: sends accepted mail to remote servers chosen by DNS.
// Standards: RFC 5321 §5.1 (MX hosts in order, the next one on failure),
//            §4.5.4 (a 4xx is retried later: the queue manager decides when).
//
// Delivery: takes due work items from the queue manager, routes each (one
// MX lookup per domain, cached: route.h), gives it an egress source (the
// pool's next by weight with warm-up room: shaping) and puts it on that
// path's ready queue (ready_queue.h). Each path runs connections (at most
// what its shaping allows now, reused for several messages, closed when idle
// or when the path is suspended) that take items from the queue, read the
// message from the spool off this thread, send it (connection.h) and report
// every recipient's reply to the queue manager (outcomes) and to the shaper
// (what the receiver's replies do to the path).
//
// All of it runs on one io_context; Submit() may be called from any thread.
// Decisions read time from the injected clock; waits use asio timers.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/system_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/clock.h"
#include "delivery/connection.h"
#include "delivery/ready_queue.h"
#include "delivery/route.h"
#include "dns/resolver.h"
#include "events/events.h"
#include "metrics/fwd.h"
#include "mtasts/policies.h"
#include "queue/manager.h"
#include "shaping/egress.h"
#include "shaping/rules.h"
#include "shaping/shaper.h"
#include "spool/spool.h"
#include "tlsrpt/ledger.h"

namespace sluice::delivery {

struct Options {
  smtp::ClientOptions client;
  // The TLS asked of every destination unless shaping says otherwise; what a
  // destination publishes can raise it (tls_policy.h).
  shaping::Tls tls = shaping::Tls::kOpportunistic;
  // Honour DANE TLSA records (RFC 7672) where the resolver validates DNSSEC.
  bool dane = true;
  std::uint16_t port = 25;              // destination port
  std::uint32_t connection_limit = 10;  // per path
  std::uint32_t max_deliveries_per_connection = 100;
  std::uint32_t max_recipients_per_transaction = 100;
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(5);
  // Dead-destination back-off (shaping::ShaperOptions).
  std::chrono::milliseconds failure_backoff = std::chrono::seconds(30);
  std::chrono::milliseconds max_failure_backoff = std::chrono::minutes(10);
  // Routing overrides: for a domain, hosts tried in order instead of its MX
  // records. The key "*" (the smarthost) applies to every domain without its own.
  std::map<std::string, std::vector<RouteHost>> routes;
  // Traffic shaping rules layered over the settings above, per path (may be null).
  std::shared_ptr<const shaping::Rules> shaping;
  shaping::EgressOptions egress;
  // Where the shaping state (reply rules' suspensions, warm-up counts) is
  // kept over restarts (empty: not kept).
  std::string shaping_state_file;
  // Work items a path's ready queue holds at most.
  std::size_t ready_capacity = 1024;
  // Paths and routes unused this long are forgotten.
  std::chrono::milliseconds forget_after = std::chrono::minutes(10);
  // VERP return paths (bounce/verp.h): mail of a tenant with a bounce domain
  // (or, with a default domain, all mail) goes one recipient a transaction,
  // its envelope sender b-...@domain naming the message and recipient. Mail
  // with the null sender keeps it. An empty secret: off.
  struct Verp {
    std::string secret;
    std::string default_domain;
    std::map<std::string, std::string> tenant_domains;
    // The bounce domain for a tenant's mail, or "" (none: the sender stays).
    const std::string& DomainFor(const std::string& tenant) const;
  } verp;
};

// The [delivery] settings as the base layer of shaping (shaping::Resolve).
shaping::Effective BuiltinShaping(const Options& opts);

// Operator view of the paths (admin interface).
struct PathView {
  std::string name;
  std::uint64_t ready = 0;
  std::uint32_t connections = 0;
  std::int64_t suspended_until_us = 0;  // a rule's or back-off's suspension; 0: none
};

struct Stats {
  std::uint64_t connections = 0;
  std::uint64_t transactions = 0;
};

// The paths' state by shaping provider, for the metrics.
struct Gauges {
  std::map<std::string, std::uint64_t> ready;        // items in ready queues
  std::map<std::string, std::uint32_t> connections;  // open outbound connections
  std::uint32_t suspended_paths = 0;
};

// Where delivery records what it does (each may be null: not recorded).
struct Metrics {
  // Connections by provider, egress source and result ("opened", "failed").
  metrics::Family<metrics::Counter>* connections = nullptr;
  // Opened connections by provider, TLS version ("none": plaintext) and TLS
  // policy ("opportunistic", "verify", "dane", ...).
  metrics::Family<metrics::Counter>* tls = nullptr;
  // TLS policy failures by provider, policy and RFC 8460 result type
  // ("certificate-expired", "dnssec-invalid", ...), enforced or not.
  metrics::Family<metrics::Counter>* tls_failures = nullptr;
  // One transaction's duration, seconds, by provider.
  metrics::Family<metrics::Histogram>* attempt_seconds = nullptr;
};

// What the dispatcher is given: the parts app/ wires together.
struct Parts {
  const Clock& clock;
  queue::Manager& queue;
  shaping::Shaper& shaper;
  dns::Resolver& resolver;
  spool::Spool& spool;
  events::Bus& bus;
  Connector& connector;
  // Spool reads run here, off the delivery thread (null: inline, for tests).
  boost::asio::thread_pool* reads = nullptr;
  // Recipient domains' MTA-STS policies (RFC 8461; null: not honoured).
  mtasts::Policies* sts = nullptr;
  Metrics metrics{};
  // TLS sessions counted for RFC 8460 reports (null: not counted).
  tlsrpt::Ledger* tls_reports = nullptr;
};

class Dispatcher final : public queue::Downstream {
 public:
  Dispatcher(boost::asio::io_context& ioc, Options opts, Parts parts);
  ~Dispatcher() override;

  // Queues a newly stored message. Thread-safe.
  void Submit(spool::Meta meta);
  // Loads the state kept over restarts and starts the schedule. The owner
  // stops delivery by stopping the io_context.
  void Start();
  Stats stats() const { return stats_; }

  // Admin interface; call on the dispatcher's io_context.
  std::vector<PathView> Paths() const;
  Gauges ReadGauges() const;
  // The shaping provider of the domain's known route ("unrouted": none known).
  std::string_view ProviderOf(std::uint32_t domain) const;
  // The settings in force (shaping rules as last set) and the resolver
  // routes use: for explaining them (delivery/explain.h).
  const Options& options() const { return opts_; }
  dns::Resolver& resolver() { return parts_.resolver; }
  // Replaces the shaping rules; paths take them up at once.
  void SetShaping(std::shared_ptr<const shaping::Rules> rules);
  // Writes the shaping state if it changed; every second, and at shutdown.
  void SaveState();
  // Forgets idle paths and routes (every minute; tests call it).
  void ForgetIdle();
  // Takes the egress source with this address out of its pools, or puts it
  // back (a blocklist listing, monitor/): mail not yet on a path goes out
  // from the pools' other sources. False: no such source, or no change.
  bool SetSourceOut(const std::string& address, bool out);

  // queue::Downstream
  void ForEachItem(const std::function<void(const queue::WorkItem&)>& fn) const override;
  std::vector<queue::WorkItem> TakeItems(
      const std::function<bool(const queue::WorkItem&)>& match) override;

 private:
  static boost::asio::awaitable<void> ScheduleLoop(Dispatcher* self);
  static boost::asio::awaitable<void> Housekeeping(Dispatcher* self);
  // Due work goes to a path's ready queue; a domain whose route is not known
  // (or is stale) waits while one Lookup() per domain finds it.
  void Dispatch(const queue::WorkItem& w);
  static boost::asio::awaitable<void> Lookup(Dispatcher* self, std::uint32_t domain);
  // Every item waiting for the domain's route gets `failure`.
  static boost::asio::awaitable<void> FailWaiting(Dispatcher* self, std::uint32_t domain,
                                                  smtp::Reply failure);
  Route MakeRoute(const std::string& domain, std::string site, std::vector<RouteHost> hosts) const;
  // The ready queue for an item on a route, from the next source of its pool
  // with warm-up room; null if the item went elsewhere (a suspension, no
  // warm-up room today, a full queue).
  ReadyQueue* PathFor(const Route& route, const queue::WorkItem& w);
  ReadyQueue& PathForSource(const Route& route, std::size_t source, bool tls_optional);
  void Enqueue(ReadyQueue& q, const queue::WorkItem& w, std::uint32_t domain);
  // Room again in a full queue: its parked items come back through Dispatch().
  void Refill(ReadyQueue& q);
  std::size_t PoolFor(std::uint32_t queue);

  void Kick(ReadyQueue& q);
  void WakeAt(ReadyQueue& q, Clock::Steady::time_point at);
  static boost::asio::awaitable<void> RunConnection(Dispatcher* self, ReadyQueue* q);
  boost::asio::awaitable<Result<std::unique_ptr<Connection>, smtp::Reply>> Connect(ReadyQueue& q);
  // A TLS policy failure, for the metrics.
  void CountTlsFailure(const ReadyQueue& q, std::string_view policy, std::string_view result);
  // One TLS session (or a host refused by its policy) for the domain's TLS
  // report; `failure.result_type` empty: a success.
  void ReportSession(const std::string& domain, const tlsrpt::Policy& policy,
                     const tlsrpt::Failure& failure);
  boost::asio::awaitable<void> Deliver(Connection& conn, ReadyQueue& q, queue::WorkItem w);
  // The message of `w` with a use counted (null if gone), and the first piece
  // of its data: read off this thread, in one trip.
  struct Loaded {
    queue::MessageState* message = nullptr;
    Result<std::string, spool::SpoolError> first = Fail(spool::SpoolError::kNotFound);
  };
  boost::asio::awaitable<Loaded> Load(const queue::WorkItem& w);
  boost::asio::awaitable<void> SleepUntil(Clock::Steady::time_point at);

  // What a failure reply does on a path (a rule may bounce the recipient).
  bool Observe(ReadyQueue& q, const smtp::Reply& r, const shaping::Group* group);
  void Announce(const ReadyQueue& q, const std::vector<shaping::Announcement>& what,
                const smtp::Reply* reply);
  void GiveBackWarmup(const ReadyQueue& q);
  // Sends the item back to the schedule until `until`, no attempt counted.
  void HoldFor(const ReadyQueue& q, const queue::WorkItem& w, Clock::Steady::time_point until);
  // Every pending recipient of the item gets `r` (a failed connection or lookup).
  void FailItem(const queue::WorkItem& w, const smtp::Reply& r, const ReadyQueue* q);
  queue::RetryPolicy RetryFor(const ReadyQueue* q) const;
  queue::AttemptInfo AttemptOf(const ReadyQueue* q, const Connection* conn) const;

  boost::asio::io_context& ioc_;
  Options opts_;
  Parts parts_;
  shaping::Egress egress_;
  RouteTable routes_;
  ReadyQueues ready_;
  boost::asio::system_timer wake_;
  std::vector<std::uint32_t> queue_pool_;  // by queue index; kUnknownPool until looked up
  Stats stats_;
};

}  // namespace sluice::delivery
