#include "delivery/ready_queue.h"

#include <algorithm>

namespace sluice::delivery {

bool ReadyQueue::Push(const queue::WorkItem& w) {
  if (full()) {
    return false;
  }
  items_.push_back(w);
  return true;
}

queue::WorkItem ReadyQueue::Pop() {
  queue::WorkItem w = items_.front();
  items_.pop_front();
  return w;
}

void ReadyQueue::Take(const std::function<bool(const queue::WorkItem&)>& match,
                      std::vector<queue::WorkItem>& out) {
  std::erase_if(items_, [&](const queue::WorkItem& w) {
    if (!match(w)) {
      return false;
    }
    out.push_back(w);
    return true;
  });
}

void ReadyQueue::ForEach(const std::function<void(const queue::WorkItem&)>& fn) const {
  std::for_each(items_.begin(), items_.end(), fn);
}

std::size_t ReadyQueue::WakeIdle(std::size_t n) {
  std::size_t woken = 0;
  for (; woken < n && !idle_.empty(); ++woken) {
    idle_.back()->cancel();
    idle_.pop_back();
  }
  return woken;
}

bool ReadyQueue::Idle(Clock::Steady::time_point now) const {
  return items_.empty() && active == 0 && parked_.empty() && idle_.empty() &&
         !path.NextChange(now).has_value();
}

ReadyQueue& ReadyQueues::Get(const std::string& name, const std::string& route_site,
                             std::size_t source, bool* made) {
  auto& slot = queues_[name];
  if (made != nullptr) {
    *made = !slot;
  }
  if (!slot) {
    slot = std::make_unique<ReadyQueue>(name, route_site, source, capacity_);
  }
  return *slot;
}

ReadyQueue* ReadyQueues::Find(const std::string& name) {
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : it->second.get();
}

std::size_t ReadyQueues::DropIdle(Clock::Steady::time_point now, Clock::Steady::time_point before) {
  return std::erase_if(queues_, [&](const auto& q) {
    return q.second->last_active < before && q.second->Idle(now);
  });
}

}  // namespace sluice::delivery
