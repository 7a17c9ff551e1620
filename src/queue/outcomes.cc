// The message lifecycle half of the queue manager: metadata in and out of
// memory, outcomes recorded, retries and expiry decided, reports asked for,
// and the spool kept in step.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/assert.h"
#include "queue/manager.h"

namespace sluice::queue {

MessageState* Manager::Acquire(const WorkItem& w, bool requeue) {
  return Adopt(w, requeue, nullptr);
}

MessageState* Manager::AcquireRead(const WorkItem& w, Result<spool::Meta, spool::SpoolError> read) {
  auto r = reads_.find(w.id);
  SLUICE_ASSERT(r != reads_.end());
  bool stale = r == reads_.end() || r->second.stale;
  if (r != reads_.end() && --r->second.count == 0) {
    reads_.erase(r);
  }
  return Adopt(w, true, stale ? nullptr : &read);
}

MessageState* Manager::Adopt(const WorkItem& w, bool requeue,
                             Result<spool::Meta, spool::SpoolError>* read) {
  const SpoolId& id = w.id;
  auto it = messages_.find(id);
  if (it == messages_.end()) {
    auto meta = read != nullptr ? std::move(*read) : spool_.ReadMeta(id);
    if (!meta) {
      if (meta.error() != spool::SpoolError::kNotFound) {
        // Still spooled but unreadable now: try again later rather than
        // leave the message unscheduled until a restart.
        spdlog::error("spool read {}: {}", id.Hex(), spool::ToString(meta.error()));
        if (requeue) {
          WorkItem later = w;
          later.due = clock_.Now() + opts_.retry.first_retry;
          Add(later);
        }
      }
      return nullptr;
    }
    meta.value().done.resize(meta.value().envelope.recipients.size(), 0);
    it = messages_.try_emplace(id, std::move(meta).value()).first;
  }
  if (it->second.removed) {
    return nullptr;
  }
  ++it->second.users;
  return &it->second;
}

void Manager::Release(MessageState& m) {
  SLUICE_ASSERT(m.users > 0);
  if (--m.users == 0) {
    SpoolId id = m.meta.id;
    messages_.erase(id);  // persisted already; read back when needed
  }
}

void Manager::Evict(const SpoolId& id) {
  auto it = messages_.find(id);
  if (it != messages_.end() && it->second.users == 0) {
    messages_.erase(it);
  }
}

std::vector<std::uint32_t> Manager::PendingFor(const MessageState& m, std::uint32_t queue) const {
  std::vector<std::uint32_t> out;
  const std::string& domain = names_.DomainName(queue);
  const auto& rcpts = m.meta.envelope.recipients;
  for (std::uint32_t i = 0; i < rcpts.size(); ++i) {
    if (!m.meta.IsDone(i) && rcpts[i].address.ascii_domain == domain) {
      out.push_back(i);
    }
  }
  return out;
}

void Manager::Record(events::OutcomeType type, MessageState& m, std::uint32_t rcpt,
                     const WorkItem& w, const ReplyView& r, const AttemptInfo* at,
                     const RetryPolicy& retry) {
  events::Outcome o;
  o.type = type;
  o.id = m.meta.id.Hex();
  o.message_id = m.meta.message_id;
  o.sender = m.meta.envelope.sender.ToString();
  o.recipient = m.meta.envelope.recipients[rcpt].address.ToString();
  o.queue = names_.Name(w.queue);
  o.tenant = m.meta.tenant;
  o.campaign = m.meta.campaign;
  o.metadata = m.meta.metadata;
  if (at != nullptr) {
    o.site = at->site;
    o.provider = at->provider;
    o.mx_host = at->mx_host;
    o.mx_ip = at->mx_ip;
    o.tls_version = at->tls_version;
    o.tls_cipher = at->tls_cipher;
    o.tls_policy = at->tls_policy;
    o.tls_authenticated = at->tls_authenticated;
    o.egress_source = at->egress_source;
    o.duration = at->took;
  }
  o.attempt = w.attempts + 1;
  o.code = r.code;
  o.enhanced = r.enhanced;
  o.text = r.text;
  o.timestamp = clock_.Now();
  o.received = FromMicros(m.meta.received_us);
  if (classifier_ && type != events::OutcomeType::kDelivery) {
    const bounce::Verdict v = classifier_->Classify(r.code, r.enhanced, r.text);
    o.bounce_class = v.klass;
    o.hard = v.hard;
    o.rule = v.rule;
  }
  bus_.Publish(o);

  const Recipient& recipient = m.meta.envelope.recipients[rcpt];
  bounce::ReportedRecipient f;
  f.recipient = o.recipient;
  f.orcpt = recipient.orcpt;
  f.status = r.enhanced.empty() ? fmt::format("{}.0.0", r.code / 100) : std::string(r.enhanced);
  f.remote_mta = o.mx_host;
  f.diagnostic = r.enhanced.empty() ? fmt::format("{} {}", r.code, r.text)
                                    : fmt::format("{} {} {}", r.code, r.enhanced, r.text);
  f.last_attempt = o.timestamp;
  const auto& env = m.meta.envelope;
  using bounce::ReportAction;
  switch (type) {
    case events::OutcomeType::kBounce:
    case events::OutcomeType::kExpiration:
      if (bounce::WantsReport(env, recipient, ReportAction::kFailed)) {
        f.expired = type == events::OutcomeType::kExpiration;
        if (f.expired) {
          f.status = "4.4.7";  // RFC 3463: delivery time expired
        }
        m.failed.push_back(std::move(f));
      }
      break;
    case events::OutcomeType::kTransientFailure: {
      std::uint8_t& flags = m.meta.done[rcpt];
      if (opts_.delay_warning.count() > 0 && (flags & spool::Meta::kDelayReported) == 0 &&
          o.timestamp - o.received >= opts_.delay_warning &&
          bounce::WantsReport(env, recipient, ReportAction::kDelayed)) {
        flags |= spool::Meta::kDelayReported;
        f.retry_until = FromMicros(m.meta.StartUs()) + retry.max_age;
        m.delayed.push_back(std::move(f));
      }
      break;
    }
    case events::OutcomeType::kDelivery:
      // RFC 3461 §5.2.2: a next hop that speaks DSN was handed NOTIFY and
      // reports success itself; for one that does not, we say "relayed".
      if (at != nullptr && !at->next_hop_dsn &&
          bounce::WantsReport(env, recipient, ReportAction::kRelayed)) {
        m.relayed.push_back(std::move(f));
      }
      break;
    default:
      break;
  }
}

void Manager::SendReports(MessageState& m) {
  if (reports_ == nullptr) {
    m.failed.clear();
    m.delayed.clear();
    m.relayed.clear();
    return;
  }
  Report(m, bounce::ReportAction::kFailed, m.failed);
  Report(m, bounce::ReportAction::kDelayed, m.delayed);
  Report(m, bounce::ReportAction::kRelayed, m.relayed);
}

void Manager::Report(MessageState& m, bounce::ReportAction action,
                     std::vector<bounce::ReportedRecipient>& recipients) {
  if (recipients.empty()) {
    return;
  }
  const SpoolId id = m.meta.id;
  ++removals_[id].reports;
  reports_->Report(m.meta, action, std::exchange(recipients, {}), [this, id] { ReportRead(id); });
}

void Manager::ReportRead(const SpoolId& id) {
  auto it = removals_.find(id);
  if (it == removals_.end() || --it->second.reports > 0) {
    return;
  }
  if (it->second.final) {
    spool_.Remove(id, it->second.size, [id](Result<Ok, spool::SpoolError> r) {
      if (!r) {
        spdlog::error("spool remove {}: {}", id.Hex(), spool::ToString(r.error()));
      }
    });
  }
  removals_.erase(it);
}

void Manager::Finish(MessageState& m, WorkItem w, std::vector<std::uint32_t> pending,
                     const RetryPolicy& retry) {
  const WorkItem tried = w;  // events count this attempt as attempts + 1
  w.attempts = Clamp16(w.attempts + std::size_t{1});
  m.meta.attempts = std::max(m.meta.attempts, std::uint32_t{w.attempts});
  const auto now = clock_.Now();
  if (!pending.empty() && now - FromMicros(m.meta.StartUs()) >= retry.max_age) {
    const std::string text = fmt::format("message expired after {} attempts", w.attempts);
    for (auto rcpt : pending) {
      Record(events::OutcomeType::kExpiration, m, rcpt, tried, ReplyView{451, "4.4.7", text},
             nullptr, retry);
      m.meta.done[rcpt] |= spool::Meta::kFinal;
    }
    pending.clear();
  }
  SendReports(m);
  if (!pending.empty()) {
    w.recipients = Clamp15(pending.size());
    w.due = now + RetryDelay(retry, w.attempts, rng_);
    m.meta.due_us = ToMicros(w.due);
    Add(w);
  }
  Persist(m);
}

void Manager::Fail(const WorkItem& w, const ReplyView& r, const AttemptInfo* at,
                   const RetryPolicy& retry) {
  MessageState* m = Acquire(w);
  if (m == nullptr) {
    return;
  }
  std::vector<std::uint32_t> pending;
  for (auto rcpt : PendingFor(*m, w.queue)) {
    if (r.code >= 500) {
      Record(events::OutcomeType::kBounce, *m, rcpt, w, r, at, retry);
      m->meta.done[rcpt] |= spool::Meta::kFinal;
    } else {
      Record(events::OutcomeType::kTransientFailure, *m, rcpt, w, r, at, retry);
      pending.push_back(rcpt);
    }
  }
  Finish(*m, w, std::move(pending), retry);
  Release(*m);
}

void Manager::WaitOrExpire(const WorkItem& w, Clock::Wall::time_point until,
                           const RetryPolicy& retry) {
  const auto now = clock_.Now();
  auto expires = FromMicros(static_cast<std::int64_t>(w.id.micros())) + retry.max_age;
  if (expires > now) {
    Reschedule(w, std::min(until, expires));
    return;
  }
  // Measured as Finish() measures it, from the recorded reception (or send_at).
  if (MessageState* m = Acquire(w)) {
    expires = FromMicros(m->meta.StartUs()) + retry.max_age;
    if (expires <= now) {
      Finish(*m, w, PendingFor(*m, w.queue), retry);  // records the expiration
    } else {
      WorkItem later = w;
      later.due = std::min(until, expires);
      Add(later);
    }
    Release(*m);
  }
}

void Manager::Persist(MessageState& m) {
  if (auto r = reads_.find(m.meta.id); r != reads_.end()) {
    r->second.stale = true;  // a read in flight may predate this write
  }
  const bool all_done = std::all_of(m.meta.done.begin(), m.meta.done.end(),
                                    [](std::uint8_t d) { return (d & spool::Meta::kFinal) != 0; });
  if (all_done) {
    SpoolId id = m.meta.id;
    if (!m.removed && queued_messages_ > 0) {
      --queued_messages_;
    }
    m.removed = true;
    // The outcomes first, then the removal: should the removal not reach the
    // disk, the restart scan finds every recipient final and removes the
    // message rather than deliver it again. (The spool retries both, in
    // order, after a failed write.)
    spool_.UpdateMeta(m.meta, [](Result<Ok, spool::SpoolError>) {});
    if (auto r = removals_.find(id); r != removals_.end()) {
      r->second.final = true;  // removed once its reports have read it
      r->second.size = m.meta.size;
      return;
    }
    spool_.Remove(id, m.meta.size, [id](Result<Ok, spool::SpoolError> r) {
      if (!r) {
        spdlog::error("spool remove {}: {}", id.Hex(), spool::ToString(r.error()));
      }
    });
    return;
  }
  spool_.UpdateMeta(m.meta, [id = m.meta.id](Result<Ok, spool::SpoolError> r) {
    if (!r) {
      spdlog::error("spool update {}: {}", id.Hex(), spool::ToString(r.error()));
    }
  });
}

}  // namespace sluice::queue
