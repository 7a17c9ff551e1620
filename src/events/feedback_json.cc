// JSON of the feedback-loop events (Suppressed, AsyncBounce, Complaint, Unsubscribe)
// and of engagement (Open, Click).
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/time_format.h"
#include "core/utf8.h"
#include "events/events.h"
#include "events/json_fields.h"

namespace sluice::events {
using detail::OrNull;

const char* ToString(FeedbackType t) {
  switch (t) {
    case FeedbackType::kAsyncBounce:
      return "AsyncBounce";
    case FeedbackType::kComplaint:
      return "Complaint";
    case FeedbackType::kUnsubscribe:
      return "Unsubscribe";
  }
  return "Feedback";
}

std::string ToJson(const Suppressed& e) {
  boost::json::object o;
  o["type"] = "Suppressed";
  o["timestamp"] = Rfc3339Micros(e.timestamp);
  o["id"] = OrNull(e.id);
  o["message_id"] = OrNull(e.message_id);
  o["sender"] = e.sender;
  o["recipient"] = e.recipient;
  o["tenant"] = OrNull(e.tenant);
  o["campaign"] = OrNull(e.campaign);
  o["listener"] = e.listener;
  o["client_ip"] = e.client_ip;
  o["refused"] = e.refused;
  o["suppression"] =
      boost::json::object{{"address", e.entry}, {"scope", e.scope}, {"reason", e.reason}};
  return ToValidUtf8(boost::json::serialize(o));
}

std::string ToJson(const Feedback& e) {
  boost::json::object o;
  o["type"] = ToString(e.type);
  o["timestamp"] = Rfc3339Micros(e.timestamp);
  o["via"] = e.via;
  o["id"] = OrNull(e.id);
  o["message_id"] = OrNull(e.message_id);
  o["recipient"] = OrNull(e.recipient);
  o["sender"] = OrNull(e.sender);
  o["tenant"] = OrNull(e.tenant);
  o["campaign"] = OrNull(e.campaign);
  o["client_ip"] = OrNull(e.client_ip);
  if (e.type == FeedbackType::kAsyncBounce) {
    o["status"] = OrNull(e.status);
    o["diagnostic"] = OrNull(e.diagnostic);
    o["remote_mta"] = OrNull(e.remote_mta);
    o["reporting_mta"] = OrNull(e.reporting_mta);
    o["bounce"] = boost::json::object{
        {"class", OrNull(e.bounce_class)}, {"hard", e.hard}, {"rule", OrNull(e.rule)}};
  } else if (e.type == FeedbackType::kComplaint) {
    o["feedback_type"] = OrNull(e.feedback_type);
    o["user_agent"] = OrNull(e.user_agent);
    o["reporting_mta"] = OrNull(e.reporting_mta);
  }
  o["original_message_id"] = OrNull(e.original_message_id);
  return ToValidUtf8(boost::json::serialize(o));
}

const char* ToString(EngagementType t) {
  return t == EngagementType::kOpen ? "Open" : "Click";
}

std::string ToJson(const Engagement& e) {
  boost::json::object o;
  o["type"] = ToString(e.type);
  o["timestamp"] = Rfc3339Micros(e.timestamp);
  o["id"] = e.id;
  o["recipient"] = e.recipient;
  o["tenant"] = OrNull(e.tenant);
  o["campaign"] = OrNull(e.campaign);
  if (e.type == EngagementType::kClick) {
    o["url"] = e.url;
  }
  o["user_agent"] = OrNull(e.user_agent);
  o["client_ip"] = e.client_ip;
  o["machine"] = !e.machine.empty();
  o["machine_reason"] = OrNull(e.machine);
  o["sent"] = Rfc3339Micros(e.sent);
  return ToValidUtf8(boost::json::serialize(o));
}

}  // namespace sluice::events
