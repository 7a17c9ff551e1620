#pragma once
// Counts failures by bounce class as events go by: per record type
// (TransientFailure, Bounce, Expiration, AsyncBounce) and class, since start.
// `sluice bounce status` shows them; the metrics endpoint will export them.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "events/events.h"

namespace sluice::app {

class BounceCounts final : public events::Observer {
 public:
  void OnOutcome(const events::Outcome& e) override;
  void OnFeedback(const events::Feedback& e) override;
  // {"Bounce": {"bad-mailbox": 3, ...}, ...} as JSON.
  std::string Json() const;

 private:
  void Add(const char* type, const std::string& klass);
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, std::uint64_t>> counts_;
};

}  // namespace sluice::app
