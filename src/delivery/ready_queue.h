#pragma once
// Security: bounds the mail committed to one egress path.
//
// Ready queues: one per egress path (a source to a site), holding work items
// that are due, routed and given a source, for the path's connections to
// take. Each has a capacity: a full queue refuses more (the item waits in
// the queue manager, parked by domain, until there is room), so a slow or
// stalled site cannot gather the whole backlog. A path with nothing queued,
// no connection and no suspension is dropped after a while, and made again
// when mail for it comes, so memory follows the live working set.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "core/clock.h"
#include "delivery/route.h"
#include "queue/scheduler.h"
#include "shaping/path_state.h"

namespace sluice::delivery {

class ReadyQueue {
 public:
  ReadyQueue(std::string name, std::string route_site, std::size_t source, std::size_t capacity)
      : path(name, std::move(route_site), source), name_(std::move(name)), capacity_(capacity) {}

  const std::string& name() const { return name_; }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  std::size_t capacity() const { return capacity_; }
  bool full() const { return items_.size() >= capacity_; }
  // False (and `w` not taken) when full.
  bool Push(const queue::WorkItem& w);
  const queue::WorkItem& front() const { return items_.front(); }
  queue::WorkItem Pop();
  // Takes the items `match` accepts out of the queue.
  void Take(const std::function<bool(const queue::WorkItem&)>& match,
            std::vector<queue::WorkItem>& out);
  void ForEach(const std::function<void(const queue::WorkItem&)>& fn) const;
  // Items parked in the queue manager for want of room here, by their domain,
  // one entry per item in the order they came: refilled in that order, so
  // no domain's mail waits behind every other domain's.
  std::deque<std::uint32_t>& parked() { return parked_; }

  // Whether the path holds nothing that needs it to live: no items, no
  // connection, nothing parked, no suspension or limit still running.
  bool Idle(Clock::Steady::time_point now) const;

  shaping::PathState path;
  std::vector<RouteHost> hosts;                 // in the order to try
  std::string provider;                         // the shaping provider, or "other" (warm-up counts)
  std::string tls_policy = "opportunistic";     // of the last connection tried (events)
  std::shared_ptr<const mtasts::Policy> sts;    // the route's MTA-STS policy (route.h)
  bool tls_optional = false;                    // its mail says TLS-Required: No (RFC 8689 §5)
  Clock::Steady::time_point settings_expire{};  // re-resolve settings with the route after
  Clock::Steady::time_point last_active{};      // last time it had work or a connection
  std::uint32_t active = 0;                     // connections
  std::unique_ptr<boost::asio::steady_timer> wake;  // end of a suspension or limit
  // Connections waiting for work, by their idle-wait timers, the most
  // recently idle last: new work wakes as many as it needs, newest first, so
  // the longest idle run out their timeout and close.
  void WaitIdle(boost::asio::steady_timer* t) { idle_.push_back(t); }
  void StopIdle(boost::asio::steady_timer* t) { std::erase(idle_, t); }
  // Wakes up to `n` idle connections; returns how many.
  std::size_t WakeIdle(std::size_t n);
  std::size_t idle_connections() const { return idle_.size(); }

 private:
  std::string name_;
  std::size_t capacity_;
  std::deque<queue::WorkItem> items_;
  std::deque<std::uint32_t> parked_;
  std::vector<boost::asio::steady_timer*> idle_;
};

// Every ready queue, by path name ("source->site", or the site alone for
// the unnamed source).
class ReadyQueues {
 public:
  explicit ReadyQueues(std::size_t capacity) : capacity_(capacity) {}
  // The path's queue, made if need be (`made` says so).
  ReadyQueue& Get(const std::string& name, const std::string& route_site, std::size_t source,
                  bool* made = nullptr);
  ReadyQueue* Find(const std::string& name);
  // Drops the queues idle since before `before`; returns how many.
  std::size_t DropIdle(Clock::Steady::time_point now, Clock::Steady::time_point before);
  std::size_t size() const { return queues_.size(); }
  template <class Fn>
  void ForEach(Fn fn) {
    for (auto& [name, q] : queues_) {
      fn(*q);
    }
  }
  template <class Fn>
  void ForEach(Fn fn) const {
    for (const auto& [name, q] : queues_) {
      fn(static_cast<const ReadyQueue&>(*q));
    }
  }

 private:
  std::size_t capacity_;
  std::map<std::string, std::unique_ptr<ReadyQueue>> queues_;
};

}  // namespace sluice::delivery
