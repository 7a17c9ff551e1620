#pragma once
// Security: entries made here come from what outsiders sent back (bounces,
//           complaints, unsubscribes); only the message's own owner's list
//           takes them (a tenant's bounce never suppresses another tenant's mail).
// Standards: none.
//
// Turns events into suppression entries, as configured ([suppression]).

#include <chrono>
#include <string>
#include <vector>

#include "events/events.h"
#include "suppression/store.h"

namespace sluice::app {

struct SuppressionPolicy {
  // Whose list an event's entry goes on. kCampaign falls back to the tenant's
  // list for mail without a campaign, kTenant to the global list for mail
  // without a tenant (the operator's own).
  enum class Target { kNone, kGlobal, kTenant, kCampaign };
  Target hard_bounce = Target::kTenant;
  Target complaint = Target::kTenant;
  Target unsubscribe = Target::kCampaign;
  // Bounces (and expirations) of these classes suppress for soft_expiry only.
  std::vector<std::string> soft_classes = {"quota"};
  std::chrono::seconds soft_expiry = std::chrono::hours(72);
};

// "none", "global", "tenant", "campaign"; false if none of them.
bool ParseTarget(const std::string& text, SuppressionPolicy::Target& out);

class SuppressionRecorder final : public events::Observer {
 public:
  SuppressionRecorder(SuppressionPolicy policy, suppression::SuppressionStore& store)
      : policy_(std::move(policy)), store_(store) {}
  void OnOutcome(const events::Outcome& e) override;
  void OnFeedback(const events::Feedback& e) override;

 private:
  void Record(SuppressionPolicy::Target target, suppression::Reason reason,
              const std::string& recipient, const std::string& tenant, const std::string& campaign,
              const std::string& source, const std::string& detail,
              std::chrono::system_clock::time_point when, bool soft);
  bool Soft(const std::string& bounce_class) const;

  SuppressionPolicy policy_;
  suppression::SuppressionStore& store_;
};

}  // namespace sluice::app
