#include "app/suppression_policy.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace sluice::app {

bool ParseTarget(const std::string& text, SuppressionPolicy::Target& out) {
  using T = SuppressionPolicy::Target;
  static constexpr std::pair<const char*, T> kNames[] = {{"none", T::kNone},
                                                         {"global", T::kGlobal},
                                                         {"tenant", T::kTenant},
                                                         {"campaign", T::kCampaign}};
  for (const auto& [name, t] : kNames) {
    if (text == name) {
      out = t;
      return true;
    }
  }
  return false;
}

bool SuppressionRecorder::Soft(const std::string& bounce_class) const {
  return std::find(policy_.soft_classes.begin(), policy_.soft_classes.end(), bounce_class) !=
         policy_.soft_classes.end();
}

void SuppressionRecorder::OnOutcome(const events::Outcome& e) {
  using T = events::OutcomeType;
  if (e.type != T::kBounce && e.type != T::kExpiration) {
    return;
  }
  // A final failure for a bad address (hard), or for a soft class such as a
  // full mailbox (for a while); a refusal of the message itself (content,
  // policy, reputation) says nothing about the address.
  if (e.hard && e.type == T::kBounce) {
    Record(policy_.hard_bounce, suppression::Reason::kHardBounce, e.recipient, e.tenant, e.campaign,
           e.id, e.bounce_class, e.timestamp, false);
  } else if (Soft(e.bounce_class)) {
    Record(policy_.hard_bounce, suppression::Reason::kSoftBounce, e.recipient, e.tenant, e.campaign,
           e.id, e.bounce_class, e.timestamp, true);
  }
}

void SuppressionRecorder::OnFeedback(const events::Feedback& e) {
  using F = events::FeedbackType;
  // Only feedback tied to a message of ours (a VERP tag or a signed token
  // checked out) changes a list: anyone can send a report naming anyone.
  if (e.id.empty()) {
    return;
  }
  const std::string& source = e.id.empty() ? e.via : e.id;
  switch (e.type) {
    case F::kAsyncBounce:
      if (e.hard) {
        Record(policy_.hard_bounce, suppression::Reason::kHardBounce, e.recipient, e.tenant,
               e.campaign, source, e.bounce_class, e.timestamp, false);
      } else if (Soft(e.bounce_class)) {
        Record(policy_.hard_bounce, suppression::Reason::kSoftBounce, e.recipient, e.tenant,
               e.campaign, source, e.bounce_class, e.timestamp, true);
      }
      break;
    case F::kComplaint:
      Record(policy_.complaint, suppression::Reason::kComplaint, e.recipient, e.tenant, e.campaign,
             source, e.feedback_type.empty() ? "abuse" : e.feedback_type, e.timestamp, false);
      break;
    case F::kUnsubscribe:
      Record(policy_.unsubscribe, suppression::Reason::kUnsubscribe, e.recipient, e.tenant,
             e.campaign, source, e.via, e.timestamp, false);
      break;
  }
}

void SuppressionRecorder::Record(SuppressionPolicy::Target target, suppression::Reason reason,
                                 const std::string& recipient, const std::string& tenant,
                                 const std::string& campaign, const std::string& source,
                                 const std::string& detail,
                                 std::chrono::system_clock::time_point when, bool soft) {
  using T = SuppressionPolicy::Target;
  if (target == T::kNone || recipient.empty()) {
    return;
  }
  auto key = suppression::Key(recipient);
  if (!key) {
    return;
  }
  suppression::Entry entry;
  entry.address = std::move(*key);
  if (target == T::kTenant || target == T::kCampaign) {
    entry.scope.tenant = tenant;
  }
  if (target == T::kCampaign && !tenant.empty()) {
    entry.scope.campaign = campaign;
  }
  entry.reason = reason;
  entry.created = when;
  if (soft) {
    entry.expires = when + policy_.soft_expiry;
  }
  entry.source = source;
  entry.detail = detail;
  if (!suppression::Valid(entry.scope)) {
    return;
  }
  if (auto r = store_.Add({entry}); !r) {
    spdlog::error("suppression entry for {} not recorded: {}", recipient, r.error());
  }
}

}  // namespace sluice::app
