#pragma once
// Security: where mail goes is decided here (DNS MX, or configured routes).
// Standards: RFC 5321 §5.1 (MX hosts in preference order), RFC 7505 (null MX),
//            RFC 3463 (enhanced codes for DNS outcomes).
//
// Routes per destination domain: the site (MX host set) a domain's mail goes
// to and its hosts in the order to try, cached for a short while, and the
// work items that wait while a domain's route is looked up. Routes not used
// for a while are dropped, so the table follows the live working set.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "dns/resolver.h"
#include "mtasts/policy.h"
#include "queue/scheduler.h"
#include "smtp/proto/reply.h"

namespace sluice::delivery {

// A next hop named by configuration instead of DNS MX records.
struct RouteHost {
  std::string host;        // name or "[address literal]"
  std::uint16_t port = 0;  // 0: the delivery port
};

// Parses "host", "host:port", "[192.0.2.1]:port" or "[IPv6:2001:db8::1]".
std::optional<RouteHost> ParseRouteHost(std::string_view text);

// The reply a DNS failure stands for (5xx: no such domain, null MX; else 4xx).
smtp::Reply DnsReply(dns::DnsError e, const std::string& domain);

struct Route {
  std::string site;  // the MX host set (or configured route); "domain:D|..." if D is shaped alone
  std::vector<RouteHost> hosts;
  std::string domain;              // for domain shaping rules
  std::string provider = "other";  // shaping provider (warm-up counts)
  // The domain's MTA-STS policy in enforce or testing mode (null: none); in
  // enforce mode `hosts` holds only the MX hosts it names.
  std::shared_ptr<const mtasts::Policy> sts;
  Clock::Steady::time_point expires{};
  Clock::Steady::time_point used{};
};

class RouteTable {
 public:
  // A route still fresh at `now` (marked used), or null.
  const Route* Find(std::uint32_t domain, Clock::Steady::time_point now);
  // The route known for the domain, fresh or not, without marking it used; or null.
  const Route* Peek(std::uint32_t domain) const {
    auto it = routes_.find(domain);
    return it == routes_.end() ? nullptr : &it->second;
  }
  Route& Set(std::uint32_t domain, Route route);
  // Queues `w` behind its domain's lookup; true if no lookup runs yet (the
  // caller starts one).
  bool Wait(std::uint32_t domain, const queue::WorkItem& w);
  // Up to `max` items waiting for the domain (the table forgets the lookup
  // once none is left, so a later Wait starts a new one).
  std::vector<queue::WorkItem> TakeWaiting(std::uint32_t domain, std::size_t max);
  // Forgets every route (new shaping rules), keeping waiting items.
  void Clear() { routes_.clear(); }
  // Drops routes unused since `before`; returns how many.
  std::size_t DropUnused(Clock::Steady::time_point before);
  std::size_t size() const { return routes_.size(); }

  // Operator views and actions over the waiting items.
  void ForEachWaiting(const std::function<void(const queue::WorkItem&)>& fn) const;
  void TakeWaiting(const std::function<bool(const queue::WorkItem&)>& match,
                   std::vector<queue::WorkItem>& out);

 private:
  std::unordered_map<std::uint32_t, Route> routes_;                          // by domain
  std::unordered_map<std::uint32_t, std::vector<queue::WorkItem>> waiting_;  // by domain
};

}  // namespace sluice::delivery
