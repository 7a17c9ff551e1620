#include "queue/scheduler.h"

#include <algorithm>

#include "queue/queue_name.h"

namespace sluice::queue {

std::uint32_t QueueNames::Intern(std::string_view name) {
  if (auto found = Find(name)) {
    return *found;
  }
  // The domain first, so a tagged name's domain index is known.
  std::uint32_t domain = 0;
  auto parsed = QueueName::Parse(name);
  bool tagged = parsed && (!parsed->tenant.empty() || !parsed->campaign.empty());
  if (tagged) {
    domain = Intern(parsed->domain);
  }
  auto index = static_cast<std::uint32_t>(names_.size());
  Entry e{std::string(name), tagged ? domain : index, {}, {}};
  if (tagged) {
    e.tenant = std::move(parsed->tenant);
    e.campaign = std::move(parsed->campaign);
  }
  const Entry& stored = names_.emplace_back(std::move(e));
  index_.emplace(std::string_view(stored.name), index);
  return index;
}

bool QueueNames::Covers(std::uint32_t target, std::uint32_t queue) const {
  if (target == queue) {
    return true;
  }
  const Entry& t = names_[target];
  const Entry& q = names_[queue];
  return (t.campaign.empty() || t.campaign == q.campaign) &&
         (t.tenant.empty() || t.tenant == q.tenant) &&
         (DomainName(target) == "*" || t.domain == q.domain);
}

std::optional<std::uint32_t> QueueNames::Find(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    return std::nullopt;
  }
  return it->second;
}

void Scheduler::Add(WorkItem item, WallTime now) {
  // New mail held for later (by a warm-up cap or a suspension) waits in the
  // heap with deferred mail: in the FIFO it would hold up the new mail behind it.
  if (item.deferred() || item.due > now) {
    deferred_.push_back(item);
    std::push_heap(deferred_.begin(), deferred_.end(), Later{});
  } else {
    fresh_.push_back(item);
  }
}

std::optional<WorkItem> Scheduler::PopDue(WallTime now) {
  bool fresh_due = !fresh_.empty() && fresh_.front().due <= now;
  bool deferred_due = !deferred_.empty() && deferred_.front().due <= now;
  if (!fresh_due && !deferred_due) {
    return std::nullopt;
  }
  bool take_deferred = deferred_due && (!fresh_due || prefer_deferred_);
  prefer_deferred_ = !take_deferred;
  if (take_deferred) {
    std::pop_heap(deferred_.begin(), deferred_.end(), Later{});
    WorkItem w = deferred_.back();
    deferred_.pop_back();
    return w;
  }
  WorkItem w = fresh_.front();
  fresh_.pop_front();
  return w;
}

std::optional<WallTime> Scheduler::NextDue() const {
  std::optional<WallTime> t;
  if (!fresh_.empty()) {
    t = fresh_.front().due;
  }
  if (!deferred_.empty() && (!t || deferred_.front().due < *t)) {
    t = deferred_.front().due;
  }
  return t;
}

void Scheduler::Reheap() {
  std::make_heap(deferred_.begin(), deferred_.end(), Later{});
}

std::size_t Scheduler::Flush(const std::function<bool(std::uint32_t)>& match, WallTime now) {
  std::size_t n = 0;
  for (auto& w : deferred_) {
    // Mail never tried that waits keeps its time: a sender's send_at, a
    // warm-up cap's next day.
    if (w.deferred() && (!match || match(w.queue))) {
      w.due = std::min(w.due, now);
      ++n;
    }
  }
  Reheap();
  return n;
}

std::vector<WorkItem> Scheduler::Extract(const std::function<bool(const WorkItem&)>& match) {
  std::vector<WorkItem> out;
  auto take = [&](const WorkItem& w) {
    if (match(w)) {
      out.push_back(w);
      return true;
    }
    return false;
  };
  std::erase_if(fresh_, take);
  std::erase_if(deferred_, take);
  Reheap();
  return out;
}

void Scheduler::ForEach(const std::function<void(const WorkItem&)>& fn) const {
  for (const auto& w : fresh_) {
    fn(w);
  }
  for (const auto& w : deferred_) {
    fn(w);
  }
}

}  // namespace sluice::queue
