#include "queue/manager.h"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/assert.h"
#include "core/durable_file.h"
#include "queue/queue_name.h"

namespace sluice::queue {

using Wall = Clock::Wall;

Manager::Manager(const Clock& clock, ManagerOptions opts, spool::Spool& spool, events::Bus& bus)
    : clock_(clock),
      opts_(std::move(opts)),
      spool_(spool),
      bus_(bus),
      rng_(static_cast<std::mt19937::result_type>(opts_.seed)) {}

void Manager::Submit(spool::Meta meta) {
  if (Enqueue(meta) && meta.attempts == 0 && messages_.size() < opts_.fresh_cache_limit) {
    SpoolId id = meta.id;
    meta.done.resize(meta.envelope.recipients.size(), 0);
    messages_.try_emplace(id, std::move(meta));
  }
}

void Manager::Restore(const spool::Meta& meta) {
  Enqueue(meta);
}

std::uint32_t Manager::QueueOf(const spool::Meta& meta, const std::string& domain) {
  if (meta.tenant.empty() && meta.campaign.empty()) {
    return names_.Intern(domain);
  }
  // Tags as ingest checked them; one that is not (a damaged record) is dropped
  // rather than make a name whose domain cannot be found again.
  auto tag = [](const std::string& t) { return ValidTag(t) ? t : std::string(); };
  return names_.Intern(QueueName{tag(meta.campaign), tag(meta.tenant), domain}.ToString());
}

bool Manager::Enqueue(const spool::Meta& meta) {
  // One work item per destination domain among the pending recipients, in
  // the message's tenant and campaign queue ("campaign:tenant@domain").
  std::vector<std::pair<std::uint32_t, std::size_t>> queues;  // and recipients there
  const auto& rcpts = meta.envelope.recipients;
  for (std::size_t i = 0; i < rcpts.size(); ++i) {
    if (!meta.IsDone(i)) {
      std::uint32_t q = QueueOf(meta, rcpts[i].address.ascii_domain);
      auto it = std::find_if(queues.begin(), queues.end(), [q](auto& e) { return e.first == q; });
      if (it == queues.end()) {
        queues.emplace_back(q, 1);
      } else {
        ++it->second;
      }
    }
  }
  if (queues.empty()) {
    // Every outcome was recorded before a restart: finish the removal.
    spool_.Remove(meta.id, meta.size, [](Result<Ok, spool::SpoolError>) {});
    return false;
  }
  // A message not tried yet goes now, or at the send_at its sender asked for.
  const bool deferred = meta.attempts > 0;
  const auto due =
      deferred ? FromMicros(meta.due_us) : std::max(clock_.Now(), FromMicros(meta.send_at_us));
  for (auto [q, n] : queues) {
    WorkItem w{meta.id, due, q, Clamp16(meta.attempts), Clamp15(n)};
    w.tls_optional = meta.envelope.tls_optional && !meta.envelope.requiretls ? 1 : 0;
    Add(w);
  }
  ++queued_messages_;
  return true;
}

void Manager::Add(const WorkItem& w) {
  scheduler_.Add(w, clock_.Now());
  if (wake_) {
    wake_();  // the loop looks at the new due time
  }
}

void Manager::Reschedule(WorkItem w, Wall::time_point due) {
  w.due = due;
  Add(w);
  Evict(w.id);
}

std::optional<WorkItem> Manager::PopDue() {
  const auto now = clock_.Now();
  EndSuspensions();
  while (auto w = scheduler_.PopDue(now)) {
    if (!Suspended(w->queue)) {
      return w;
    }
    Hold(*w);
  }
  return std::nullopt;
}

Wall::time_point Manager::NextWake() {
  auto next = scheduler_.NextDue().value_or(Wall::time_point::max());
  for (const auto& [target, until] : suspended_) {
    next = std::min(next, until);
  }
  return next;
}

bool Manager::Suspended(std::uint32_t queue) const {
  // Operator targets are few; each is a filter over queue names.
  return std::any_of(suspended_.begin(), suspended_.end(),
                     [&](const auto& s) { return names_.Covers(s.first, queue); });
}

void Manager::Hold(const WorkItem& w) {
  held_[w.queue].push_back(w);
  Evict(w.id);
}

void Manager::Park(std::uint32_t domain, const WorkItem& w) {
  parked_[domain].push_back(w);
  Evict(w.id);
}

std::vector<WorkItem> Manager::Unpark(std::uint32_t domain, std::size_t max) {
  std::vector<WorkItem> out;
  auto it = parked_.find(domain);
  if (it == parked_.end()) {
    return out;
  }
  auto& items = it->second;
  const std::size_t n = std::min(max, items.size());
  out.assign(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(n));
  items.erase(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(n));
  if (items.empty()) {
    parked_.erase(it);
  }
  return out;
}

std::size_t Manager::parked(std::uint32_t domain) const {
  auto it = parked_.find(domain);
  return it == parked_.end() ? 0 : it->second.size();
}

void Manager::EndSuspensions() {
  const auto now = clock_.Now();
  if (std::erase_if(suspended_, [now](const auto& s) { return s.second <= now; }) > 0) {
    ReleaseHeld();
    SaveSuspensions();
  }
}

std::size_t Manager::ReleaseHeld() {
  // What no target suspends any more goes back to the schedule.
  std::size_t n = 0;
  for (auto it = held_.begin(); it != held_.end();) {
    if (Suspended(it->first)) {
      ++it;
      continue;
    }
    n += it->second.size();
    for (auto& w : it->second) {
      w.due = clock_.Now();
      Add(w);
    }
    it = held_.erase(it);
  }
  return n;
}

void Manager::LoadSuspensions() {
  if (opts_.suspensions_file.empty()) {
    return;
  }
  std::ifstream in(opts_.suspensions_file);
  std::int64_t until_us = 0;
  std::string target;
  while (in >> until_us >> target) {
    if (!QueueName::Parse(target)) {
      spdlog::warn("{}: skipping {}: not a queue name", opts_.suspensions_file, target);
      continue;
    }
    auto until = until_us == 0 ? Wall::time_point::max() : FromMicros(until_us);
    if (until > clock_.Now()) {
      suspended_[names_.Intern(target)] = until;
      spdlog::info("queue {} stays suspended", target);
    }
  }
}

void Manager::SaveSuspensions() {
  if (opts_.suspensions_file.empty()) {
    return;
  }
  std::string text;
  for (const auto& [target, until] : suspended_) {
    text += fmt::format("{} {}\n", until == Wall::time_point::max() ? 0 : ToMicros(until),
                        names_.Name(target));
  }
  std::string error;
  if (!ReplaceFileDurably(opts_.suspensions_file, text, &error)) {
    spdlog::error("cannot save operator suspensions: {}", error);
  }
}

std::vector<QueueView> Manager::Queues() const {
  std::map<std::uint32_t, QueueView> queues;
  auto count = [&](const WorkItem& w) {
    auto& q = queues[w.queue];
    auto received = static_cast<std::int64_t>(w.id.micros());
    auto due = ToMicros(w.due);
    q.oldest_us = q.messages == 0 ? received : std::min(q.oldest_us, received);
    q.next_due_us = q.messages == 0 ? due : std::min(q.next_due_us, due);
    ++q.messages;
    q.recipients += w.recipients;
  };
  scheduler_.ForEach(count);
  for (const auto& [q, items] : held_) {
    std::for_each(items.begin(), items.end(), count);
  }
  for (const auto& [d, items] : parked_) {
    std::for_each(items.begin(), items.end(), count);
  }
  if (downstream_ != nullptr) {
    downstream_->ForEachItem(count);
  }
  std::vector<QueueView> out;
  for (auto& [index, q] : queues) {
    q.name = names_.Name(index);
    q.index = index;
    q.suspended = Suspended(index);
    out.push_back(std::move(q));
  }
  return out;
}

std::vector<HeldView> Manager::HeldTargets() const {
  std::vector<HeldView> out;
  for (const auto& [target, until] : suspended_) {
    out.push_back({names_.Name(target), until == Wall::time_point::max() ? 0 : ToMicros(until)});
  }
  return out;
}

std::size_t Manager::Flush(const std::string& target) {
  std::function<bool(std::uint32_t)> match;
  if (!target.empty()) {
    match = [this, t = names_.Intern(target)](std::uint32_t queue) {
      return names_.Covers(t, queue);
    };
  }
  std::size_t n = scheduler_.Flush(match, clock_.Now());
  if (wake_) {
    wake_();
  }
  return n;
}

std::size_t Manager::Suspend(const std::string& target,
                             std::optional<std::chrono::milliseconds> how_long) {
  const std::uint32_t t = names_.Intern(target);
  suspended_[t] = how_long ? clock_.Now() + *how_long : Wall::time_point::max();
  SaveSuspensions();
  if (wake_) {
    wake_();  // the loop wakes for the end of it
  }
  // Mail already past the schedule (routing, parked, in a ready queue) stops
  // too; only transactions in progress finish. (What waits in the schedule
  // is held when it comes due.)
  std::size_t n = 0;
  auto covered = [&](const WorkItem& w) { return names_.Covers(t, w.queue); };
  for (auto it = parked_.begin(); it != parked_.end();) {
    std::erase_if(it->second, [&](const WorkItem& w) {
      if (!covered(w)) {
        return false;
      }
      Hold(w);
      ++n;
      return true;
    });
    it = it->second.empty() ? parked_.erase(it) : std::next(it);
  }
  if (downstream_ != nullptr) {
    for (const auto& w : downstream_->TakeItems(covered)) {
      Hold(w);
      ++n;
    }
  }
  return n;
}

std::size_t Manager::Resume(const std::string& target) {
  auto q = names_.Find(target);
  if (!q) {
    return 0;
  }
  suspended_.erase(*q);
  SaveSuspensions();
  return ReleaseHeld();
}

std::vector<WorkItem> Manager::TakeItems(const std::function<bool(const WorkItem&)>& match) {
  std::vector<WorkItem> items = scheduler_.Extract(match);
  auto take = [&](const WorkItem& w) {
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
  for (auto it = parked_.begin(); it != parked_.end();) {
    std::erase_if(it->second, take);
    it = it->second.empty() ? parked_.erase(it) : std::next(it);
  }
  if (downstream_ != nullptr) {
    auto more = downstream_->TakeItems(match);
    items.insert(items.end(), more.begin(), more.end());
  }
  return items;
}

std::size_t Manager::AdminBounce(const std::string& target) {
  // Administrative bounces record AdminBounce events and send no report.
  if (auto id = SpoolId::FromHex(target)) {
    std::size_t n = BounceItem(WorkItem{*id, clock_.Now(), 0, 0, 0}, true);
    if (n > 0) {  // every pending recipient is final: its work items are void
      TakeItems([&](const WorkItem& w) { return w.id == *id; });
    }
    return n;
  }
  const std::uint32_t t = names_.Intern(target);
  std::size_t n = 0;
  for (const auto& w : TakeItems([&](const WorkItem& w) { return names_.Covers(t, w.queue); })) {
    n += BounceItem(w, false);
  }
  return n;
}

std::size_t Manager::BounceItem(const WorkItem& w, bool whole_message) {
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
    WorkItem item = w;
    item.queue = QueueOf(m->meta, rcpts[i].address.ascii_domain);
    Record(events::OutcomeType::kAdminBounce, *m, i, item,
           ReplyView{550, "5.0.0", "administratively bounced"}, nullptr, opts_.retry);
    m->meta.done[i] |= spool::Meta::kFinal;
    ++n;
  }
  if (n > 0) {
    Persist(*m);
  }
  Release(*m);
  return n;
}

}  // namespace sluice::queue
