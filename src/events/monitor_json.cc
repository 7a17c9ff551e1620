// JSON of the monitoring records (HealthChanged, BlocklistChanged).
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/time_format.h"
#include "core/utf8.h"
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

std::string ToJson(const BlocklistChanged& e) {
  boost::json::object o;
  o["type"] = "BlocklistChanged";
  o["timestamp"] = Rfc3339Micros(e.timestamp);
  o["list"] = e.list;
  o["zone"] = e.zone;
  o["kind"] = e.kind;
  o["subject"] = e.subject;
  o["listed"] = e.listed;
  boost::json::array codes;
  for (const auto& c : e.codes) {
    codes.emplace_back(c);
  }
  o["codes"] = std::move(codes);
  o["meaning"] = OrNull(e.meaning);
  o["reason"] = OrNull(ToValidUtf8(e.reason));
  o["out_of_pools"] = e.out_of_pools;
  return boost::json::serialize(o);
}

}  // namespace sluice::events
