#pragma once
// Scheduled work: one entry per (message, destination domain) waiting for its
// due time. An entry is 32 bytes whatever the message: the envelope and body
// stay in the spool and are read when a connection is ready to send them.
//
// Fairness (as Postfix's queue manager): new mail and deferred mail are kept
// apart and taken in turn when both have work due, so a large deferred
// backlog coming due cannot starve freshly accepted mail.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/spool_id.h"

namespace sluice::queue {

using WallTime = std::chrono::system_clock::time_point;

struct WorkItem {
  SpoolId id;
  WallTime due;
  std::uint32_t queue = 0;     // the scheduled queue (QueueNames index)
  std::uint16_t attempts = 0;  // 0: new mail, never tried (at most 65535)
  // Those pending in the queue's domain (at most 32767: Clamp15).
  std::uint16_t recipients : 15 = 1;
  // RFC 8689 §5: the message says "TLS-Required: No" (receivers' TLS
  // policies may be set aside for it).
  std::uint16_t tls_optional : 1 = 0;
  bool deferred() const { return attempts > 0; }
};

static_assert(sizeof(WorkItem) == 32, "a queued item's memory");

// A count as a WorkItem keeps it: at most 65535.
inline std::uint16_t Clamp16(std::size_t n) {
  return static_cast<std::uint16_t>(std::min<std::size_t>(n, 0xffff));
}
// A recipient count as a WorkItem keeps it: at most 32767.
inline std::uint16_t Clamp15(std::size_t n) {
  return static_cast<std::uint16_t>(std::min<std::size_t>(n, 0x7fff));
}

// Queue names ("campaign:tenant@domain", see queue_name.h) interned once, so
// entries carry an index. Each name also knows its destination domain's index
// (the name of the domain's untagged queue) and its tags.
class QueueNames {
 public:
  std::uint32_t Intern(std::string_view name);
  std::optional<std::uint32_t> Find(std::string_view name) const;
  const std::string& Name(std::uint32_t index) const { return names_[index].name; }
  std::uint32_t Domain(std::uint32_t index) const { return names_[index].domain; }
  const std::string& DomainName(std::uint32_t index) const { return Name(Domain(index)); }
  const std::string& Tenant(std::uint32_t index) const { return names_[index].tenant; }
  const std::string& Campaign(std::uint32_t index) const { return names_[index].campaign; }

  // Whether an operator's target covers a queue. A target is a filter in
  // queue-name form: the parts it names must match, the ones it leaves out
  // match anything, and the domain "*" matches every domain. So
  // "example.com" is every queue to example.com, "acme@example.com" acme's
  // (any campaign), "spring:acme@*" acme's spring campaign everywhere.
  bool Covers(std::uint32_t target, std::uint32_t queue) const;

 private:
  struct Entry {
    std::string name;
    std::uint32_t domain = 0;
    std::string tenant;
    std::string campaign;
  };
  std::deque<Entry> names_;  // a deque keeps the views in index_ valid
  std::unordered_map<std::string_view, std::uint32_t> index_;
};

class Scheduler {
 public:
  // `now` decides whether new mail is due at once (the FIFO) or waits.
  void Add(WorkItem item, WallTime now);
  // The next due item at `now`, alternating between new and deferred mail.
  std::optional<WorkItem> PopDue(WallTime now);
  // When the earliest item comes due (nullopt if empty).
  std::optional<WallTime> NextDue() const;
  // Makes every deferred item (tried before) of the queues `match` accepts
  // (all, if it is empty) due now; returns how many. Mail never tried keeps
  // its time (send_at, a warm-up cap).
  std::size_t Flush(const std::function<bool(std::uint32_t)>& match, WallTime now);
  // Takes the items for which `match` is true out of the schedule.
  std::vector<WorkItem> Extract(const std::function<bool(const WorkItem&)>& match);
  void ForEach(const std::function<void(const WorkItem&)>& fn) const;
  std::size_t size() const { return fresh_.size() + deferred_.size(); }

 private:
  struct Later {
    bool operator()(const WorkItem& a, const WorkItem& b) const { return a.due > b.due; }
  };
  // A heap on a plain vector, so it can be walked and filtered in place.
  void Reheap();
  std::deque<WorkItem> fresh_;      // new mail due when added: FIFO
  std::vector<WorkItem> deferred_;  // min-heap on due
  bool prefer_deferred_ = false;
};

}  // namespace sluice::queue
