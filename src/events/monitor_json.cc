// JSON of the monitoring records (HealthChanged).
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/time_format.h"
#include "events/events.h"
#include "events/json_fields.h"

namespace sluice::events {
using detail::OrNull;

std::string ToJson(const HealthChanged& e) {
  boost::json::object o;
  o["type"] = "HealthChanged";
  o["timestamp"] = Rfc3339Micros(e.timestamp);
  o["domain"] = e.domain;
  o["check"] = e.check;
  o["previous"] = OrNull(e.previous);
  o["status"] = e.status;
  o["detail"] = e.detail;
  o["fix"] = OrNull(e.fix);
  return boost::json::serialize(o);
}

}  // namespace sluice::events
