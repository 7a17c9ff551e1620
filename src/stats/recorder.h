#pragma once
// Counts the events as they are published (the bus's observer): receptions
// per recipient; each delivery attempt's outcome by tenant, campaign,
// provider, destination domain and egress source; feedback (asynchronous
// bounces, complaints, unsubscribes), suppressed recipients and opens and
// clicks by tenant, campaign and domain (their provider and source are not
// known then). Opens and clicks count every hit, the machine ones apart, and
// the first per message and recipient as unique (the first of any hit, and
// the first not flagged as a machine's).
//
// Sluice's own mail (delivery status notifications and TLS reports, taken
// on the "dsn" and "report" listeners) is not the senders' traffic: neither
// its reception nor its outcomes are counted (its ids are remembered in
// memory, the latest 100,000: after a restart, own mail still queued is
// counted as it goes).

#include <deque>
#include <mutex>
#include <string>
#include <unordered_set>

#include "events/events.h"
#include "stats/store.h"

namespace sluice::stats {

class Recorder final : public events::Observer {
 public:
  explicit Recorder(Store& store) : store_(store) {}
  void OnReception(const events::Reception& e) override;
  void OnOutcome(const events::Outcome& e) override;
  void OnFeedback(const events::Feedback& e) override;
  void OnSuppressed(const events::Suppressed& e) override;
  void OnEngagement(const events::Engagement& e) override;

 private:
  bool Own(const std::string& id);

  Store& store_;
  std::mutex mu_;
  std::unordered_set<std::string> own_;
  std::deque<std::string> own_order_;
};

}  // namespace sluice::stats
