#pragma once
// Security: only feedback tied to our own message (a checked VERP tag or
//           token: a non-empty id) counts; forged reports cannot suspend anyone.
// Standards: none.
//
// Watches complaint and bounce rates (shaping/reputation.h) per tenant,
// campaign and egress source as events go by; a crossing is an Automation
// record and, as configured, suspends the campaign's or tenant's mail (an
// operator suspension: `sluice queue resume` lifts it).

#include <chrono>
#include <functional>
#include <mutex>
#include <string>

#include "events/events.h"
#include "shaping/reputation.h"

namespace sluice::app {

struct ReputationSettings {
  shaping::ReputationOptions rates;
  bool suspend_campaigns = false;
  bool suspend_tenants = false;
  std::chrono::seconds suspend_for = std::chrono::hours(24);
};

class ReputationGuard final : public events::Observer {
 public:
  // `suspend(target, how_long)` holds a queue-name target ("spring:acme@*").
  using SuspendFn = std::function<void(const std::string&, std::chrono::seconds)>;
  ReputationGuard(ReputationSettings settings, events::Bus& bus, SuspendFn suspend)
      : settings_(settings), tracker_(settings.rates), bus_(bus), suspend_(std::move(suspend)) {}

  void OnOutcome(const events::Outcome& e) override;
  void OnFeedback(const events::Feedback& e) override;

 private:
  enum class Kind { kDelivered, kComplained, kBounced };
  void Count(Kind kind, const std::string& tenant, const std::string& campaign,
             const std::string& source, std::chrono::system_clock::time_point now);
  void Act(const shaping::ReputationCrossing& c, const std::string& tenant,
           const std::string& campaign, const std::string& source,
           std::chrono::system_clock::time_point now);

  ReputationSettings settings_;
  std::mutex mu_;
  shaping::ReputationTracker tracker_;
  events::Bus& bus_;
  SuspendFn suspend_;
};

}  // namespace sluice::app
