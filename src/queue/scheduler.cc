#include "queue/scheduler.h"

namespace sluice::queue {

void Scheduler::Add(WorkItem item) {
  if (item.deferred) {
    deferred_.push(std::move(item));
  } else {
    fresh_.push_back(std::move(item));
  }
}

std::optional<WorkItem> Scheduler::PopDue(Clock::time_point now) {
  bool fresh_due = !fresh_.empty() && fresh_.front().due <= now;
  bool deferred_due = !deferred_.empty() && deferred_.top().due <= now;
  if (!fresh_due && !deferred_due) {
    return std::nullopt;
  }
  bool take_deferred = deferred_due && (!fresh_due || prefer_deferred_);
  prefer_deferred_ = !take_deferred;
  if (take_deferred) {
    WorkItem w = deferred_.top();
    deferred_.pop();
    return w;
  }
  WorkItem w = std::move(fresh_.front());
  fresh_.pop_front();
  return w;
}

std::optional<Clock::time_point> Scheduler::NextDue() const {
  std::optional<Clock::time_point> t;
  if (!fresh_.empty()) {
    t = fresh_.front().due;
  }
  if (!deferred_.empty() && (!t || deferred_.top().due < *t)) {
    t = deferred_.top().due;
  }
  return t;
}

std::size_t Scheduler::Flush(const std::string& domain, Clock::time_point now) {
  std::vector<WorkItem> keep;
  std::size_t n = 0;
  while (!deferred_.empty()) {
    WorkItem w = deferred_.top();
    deferred_.pop();
    if (domain.empty() || w.domain == domain) {
      w.due = now;
      ++n;
    }
    keep.push_back(std::move(w));
  }
  for (auto& w : keep) {
    deferred_.push(std::move(w));
  }
  return n;
}

}  // namespace sluice::queue
