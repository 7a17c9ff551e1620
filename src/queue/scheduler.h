#pragma once
// Scheduled work: one entry per (message, destination domain) waiting for its
// due time. Memory per entry is small and independent of message size: the
// body stays in the spool.
//
// Fairness (as Postfix's queue manager): new mail and deferred mail are kept
// apart and taken in turn when both have work due, so a large deferred
// backlog coming due cannot starve freshly accepted mail.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "core/spool_id.h"

namespace sluice::queue {

using Clock = std::chrono::system_clock;

struct WorkItem {
  SpoolId id;
  std::string domain;                     // the scheduled queue's name
  std::vector<std::uint32_t> recipients;  // indices into the envelope
  Clock::time_point due;
  bool deferred = false;  // has failed before
  std::uint32_t attempts = 0;
};

class Scheduler {
 public:
  void Add(WorkItem item);
  // The next due item at `now`, alternating between new and deferred mail.
  std::optional<WorkItem> PopDue(Clock::time_point now);
  // When the earliest item comes due (nullopt if empty).
  std::optional<Clock::time_point> NextDue() const;
  // Makes every item for `domain` (all, if empty) due now; returns how many.
  std::size_t Flush(const std::string& domain, Clock::time_point now);
  std::size_t size() const { return fresh_.size() + deferred_.size(); }

 private:
  struct Later {
    bool operator()(const WorkItem& a, const WorkItem& b) const { return a.due > b.due; }
  };
  std::deque<WorkItem> fresh_;  // due when accepted: FIFO
  std::priority_queue<WorkItem, std::vector<WorkItem>, Later> deferred_;
  bool prefer_deferred_ = false;
};

}  // namespace sluice::queue
