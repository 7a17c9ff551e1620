#include "app/reputation_guard.h"

#include <optional>
#include <vector>

#include <fmt/format.h>

namespace sluice::app {

void ReputationGuard::OnOutcome(const events::Outcome& e) {
  if (e.type == events::OutcomeType::kDelivery) {
    Count(Kind::kDelivered, e.tenant, e.campaign, e.egress_source, e.timestamp);
  } else if (e.type == events::OutcomeType::kBounce && e.hard) {
    Count(Kind::kBounced, e.tenant, e.campaign, e.egress_source, e.timestamp);
  }
}

void ReputationGuard::OnFeedback(const events::Feedback& e) {
  if (e.id.empty()) {
    return;  // not tied to a message of ours
  }
  if (e.type == events::FeedbackType::kComplaint) {
    Count(Kind::kComplained, e.tenant, e.campaign, "", e.timestamp);
  } else if (e.type == events::FeedbackType::kAsyncBounce && e.hard) {
    Count(Kind::kBounced, e.tenant, e.campaign, "", e.timestamp);
  }
}

void ReputationGuard::Count(Kind kind, const std::string& tenant, const std::string& campaign,
                            const std::string& source, std::chrono::system_clock::time_point now) {
  std::vector<std::string> keys;
  if (!tenant.empty()) {
    keys.push_back("tenant " + tenant);
    if (!campaign.empty()) {
      keys.push_back("campaign " + tenant + "/" + campaign);
    }
  }
  if (!source.empty()) {
    keys.push_back("source " + source);
  }
  std::vector<shaping::ReputationCrossing> crossed;
  {
    std::lock_guard lock(mu_);
    for (const auto& k : keys) {
      std::optional<shaping::ReputationCrossing> c;
      switch (kind) {
        case Kind::kDelivered:
          tracker_.Delivered(k, now);
          break;
        case Kind::kComplained:
          c = tracker_.Complained(k, now);
          break;
        case Kind::kBounced:
          c = tracker_.Bounced(k, now);
          break;
      }
      if (c) {
        crossed.push_back(*c);
      }
    }
  }
  for (const auto& c : crossed) {
    Act(c, tenant, campaign, source, now);
  }
}

void ReputationGuard::Act(const shaping::ReputationCrossing& c, const std::string& tenant,
                          const std::string& campaign, const std::string& source,
                          std::chrono::system_clock::time_point now) {
  events::Automation a;
  a.rule =
      fmt::format("reputation: {} {} {:.2f}% >= {:.2f}% ({} of {} deliveries in {} h)", c.key,
                  ToString(c.metric), c.rate * 100, c.threshold * 100, c.count, c.deliveries,
                  std::chrono::duration_cast<std::chrono::hours>(settings_.rates.window).count());
  a.timestamp = now;
  a.until = now;
  std::string target;
  if (c.key.rfind("campaign ", 0) == 0) {
    a.tenant = tenant;
    a.campaign = campaign;
    if (settings_.suspend_campaigns) {
      target = campaign + ":" + tenant + "@*";
      a.action = "suspend campaign";
    }
  } else if (c.key.rfind("tenant ", 0) == 0) {
    a.tenant = tenant;
    if (settings_.suspend_tenants) {
      target = tenant + "@*";
      a.action = "suspend tenant";
    }
  } else {
    a.egress_source = source;
  }
  if (a.action.empty()) {
    a.action = "alert";
  } else {
    a.until = now + settings_.suspend_for;
  }
  bus_.Publish(a);
  if (!target.empty() && suspend_) {
    suspend_(target, settings_.suspend_for);
  }
}

}  // namespace sluice::app
