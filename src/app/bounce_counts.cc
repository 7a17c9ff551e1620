#include "app/bounce_counts.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace sluice::app {

void BounceCounts::Add(const char* type, const std::string& klass) {
  std::lock_guard lock(mu_);
  ++counts_[type][klass.empty() ? "unclassified" : klass];
}

void BounceCounts::OnOutcome(const events::Outcome& e) {
  using T = events::OutcomeType;
  if (e.type == T::kTransientFailure || e.type == T::kBounce || e.type == T::kExpiration) {
    Add(events::ToString(e.type), e.bounce_class);
  }
}

void BounceCounts::OnFeedback(const events::Feedback& e) {
  if (e.type == events::FeedbackType::kAsyncBounce) {
    Add("AsyncBounce", e.bounce_class);
  }
}

std::string BounceCounts::Json() const {
  boost::json::object out;
  std::lock_guard lock(mu_);
  for (const auto& [type, by_class] : counts_) {
    boost::json::object o;
    for (const auto& [klass, n] : by_class) {
      o[klass] = n;
    }
    out[type] = std::move(o);
  }
  return boost::json::serialize(out);
}

}  // namespace sluice::app
