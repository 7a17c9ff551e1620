#include "stats/recorder.h"

#include <string>
#include <vector>

namespace sluice::stats {
namespace {

constexpr std::size_t kOwnIds = 100000;

std::string DomainOf(std::string_view address) {
  const auto at = address.rfind('@');
  std::string d(at == std::string_view::npos ? std::string_view() : address.substr(at + 1));
  for (auto& c : d) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return d;
}

Tuple Row(std::string_view tenant, std::string_view campaign, std::string_view provider,
          std::string_view recipient, std::string_view source) {
  return {std::string(tenant), std::string(campaign), std::string(provider), DomainOf(recipient),
          std::string(source)};
}

void AddClass(std::vector<std::uint16_t>& slots, std::string_view klass, bool hard) {
  auto slot = ClassSlot(klass);
  slots.push_back(slot ? *slot : *ClassSlot("other"));
  if (hard) {
    slots.push_back(kBouncedHard);
  }
}

}  // namespace

bool Recorder::Own(const std::string& id) {
  std::lock_guard lock(mu_);
  return own_.contains(id);
}

void Recorder::OnReception(const events::Reception& e) {
  if (e.listener == "dsn" || e.listener == "report") {
    std::lock_guard lock(mu_);
    if (own_.insert(e.id).second) {
      own_order_.push_back(e.id);
      if (own_order_.size() > kOwnIds) {
        own_.erase(own_order_.front());
        own_order_.pop_front();
      }
    }
    return;
  }
  const std::uint16_t slot = kReceived;
  for (const auto& rcpt : e.recipients) {
    store_.Add(e.timestamp, Row(e.tenant, e.campaign, "", rcpt, ""), {&slot, 1});
  }
}

void Recorder::OnOutcome(const events::Outcome& e) {
  if (Own(e.id)) {
    return;
  }
  std::vector<std::uint16_t> slots;
  switch (e.type) {
    case events::OutcomeType::kDelivery:
      slots.push_back(kDelivered);
      break;
    case events::OutcomeType::kTransientFailure:
      slots.push_back(kDeferred);
      break;
    case events::OutcomeType::kBounce:
      slots.push_back(kBounced);
      AddClass(slots, e.bounce_class, e.hard);
      break;
    case events::OutcomeType::kExpiration:
      slots.push_back(kExpired);
      break;
    case events::OutcomeType::kAdminBounce:
      slots.push_back(kAdminBounced);
      break;
  }
  store_.Add(e.timestamp, Row(e.tenant, e.campaign, e.provider, e.recipient, e.egress_source),
             slots);
}

void Recorder::OnFeedback(const events::Feedback& e) {
  std::vector<std::uint16_t> slots;
  switch (e.type) {
    case events::FeedbackType::kAsyncBounce:
      slots = {kBounced, kAsyncBounced};
      AddClass(slots, e.bounce_class, e.hard);
      break;
    case events::FeedbackType::kComplaint:
      slots.push_back(kComplaints);
      break;
    case events::FeedbackType::kUnsubscribe:
      slots.push_back(kUnsubscribes);
      break;
  }
  store_.Add(e.timestamp, Row(e.tenant, e.campaign, "", e.recipient, ""), slots);
}

void Recorder::OnSuppressed(const events::Suppressed& e) {
  const std::uint16_t slot = kSuppressed;
  store_.Add(e.timestamp, Row(e.tenant, e.campaign, "", e.recipient, ""), {&slot, 1});
}

void Recorder::OnEngagement(const events::Engagement& e) {
  const bool open = e.type == events::EngagementType::kOpen;
  const bool machine = !e.machine.empty();
  std::vector<std::uint16_t> slots = {open ? kOpens : kClicks};
  if (machine) {
    slots.push_back(open ? kMachineOpens : kMachineClicks);
  }
  // One hit per message and recipient is its first: of any kind, and of a person.
  std::string key(open ? "o" : "c");
  key += e.id;
  key += '\0';
  key += e.recipient;
  key += '\0';
  if (store_.FirstTime(e.sent, key + 'a')) {
    slots.push_back(open ? kUniqueOpens : kUniqueClicks);
  }
  if (!machine && store_.FirstTime(e.sent, key + 'h')) {
    slots.push_back(open ? kUniqueHumanOpens : kUniqueHumanClicks);
  }
  store_.Add(e.timestamp, Row(e.tenant, e.campaign, "", e.recipient, ""), slots);
}

}  // namespace sluice::stats
