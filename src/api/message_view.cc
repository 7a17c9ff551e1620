#include "api/message_view.h"

#include <map>

#include <boost/json/parse.hpp>

#include "core/clock.h"
#include "core/time_format.h"

namespace sluice::api {
namespace json = boost::json;

namespace {

json::value OrNull(const std::string& s) {
  return s.empty() ? json::value(nullptr) : json::value(s);
}

std::string StringAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// A recipient's state after an outcome event of this type.
const char* StateAfter(std::string_view type) {
  if (type == "Delivery") {
    return "delivered";
  }
  if (type == "Bounce" || type == "AdminBounce") {
    return "bounced";
  }
  if (type == "Expiration") {
    return "expired";
  }
  if (type == "TransientFailure") {
    return "deferred";
  }
  return nullptr;
}

struct RecipientState {
  std::string state = "queued";
  std::uint32_t attempts = 0;
  json::value last_response = nullptr;
};

}  // namespace

MessageView ViewMessage(std::string_view id, const std::optional<spool::Meta>& meta,
                        const std::vector<std::string>& events) {
  MessageView view;
  json::array parsed;
  std::optional<std::size_t> reception_at;
  std::map<std::string, RecipientState> by_recipient;
  for (const auto& line : events) {
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) {
      continue;  // a record the history could not keep whole
    }
    parsed.push_back(std::move(v));
    const json::object& e = parsed.back().get_object();
    const std::string type = StringAt(e, "type");
    if (type == "Reception") {
      reception_at = parsed.size() - 1;
    } else if (const char* state = StateAfter(type)) {
      RecipientState& r = by_recipient[StringAt(e, "recipient")];
      r.state = state;
      ++r.attempts;
      if (const json::value* resp = e.if_contains("response")) {
        r.last_response = *resp;
      }
    }
  }
  if (!meta && !reception_at) {
    return view;
  }
  const json::object* reception = reception_at ? &parsed[*reception_at].get_object() : nullptr;
  view.found = true;
  json::object& b = view.body;
  b["id"] = id;
  std::vector<std::string> recipients;
  if (meta) {
    view.tenant = meta->tenant;
    b["sender"] = meta->envelope.sender.ToString();
    for (const auto& r : meta->envelope.recipients) {
      recipients.push_back(r.address.ToString());
    }
    b["tenant"] = OrNull(meta->tenant);
    b["campaign"] = OrNull(meta->campaign);
    json::object md;
    for (const auto& [k, v] : meta->metadata) {
      md[k] = v;
    }
    b["metadata"] = std::move(md);
    b["received_at"] = Rfc3339Micros(FromMicros(meta->received_us));
    b["send_at"] = meta->send_at_us > meta->received_us
                       ? json::value(Rfc3339Micros(FromMicros(meta->send_at_us)))
                       : json::value(nullptr);
    b["size"] = meta->size;
    b["attempts"] = meta->attempts;
    const bool waiting = meta->attempts > 0 || meta->send_at_us > meta->received_us;
    b["state"] = meta->attempts > 0 ? "deferred" : (waiting ? "scheduled" : "queued");
    b["next_attempt_at"] = waiting ? json::value(Rfc3339Micros(FromMicros(
                                         meta->attempts > 0 ? meta->due_us : meta->send_at_us)))
                                   : json::value(nullptr);
  } else {
    view.tenant = StringAt(*reception, "tenant");
    b["sender"] = reception->at("sender");
    if (const json::value* rs = reception->if_contains("recipients"); rs && rs->is_array()) {
      for (const auto& r : rs->get_array()) {
        if (r.is_string()) {
          recipients.emplace_back(r.get_string());
        }
      }
    }
    b["tenant"] = reception->at("tenant");
    b["campaign"] = reception->at("campaign");
    const json::value* md = reception->if_contains("metadata");
    b["metadata"] = md != nullptr ? *md : json::object();
    b["received_at"] = reception->at("timestamp");
    const json::value* send_at = reception->if_contains("send_at");
    b["send_at"] = send_at != nullptr ? *send_at : json::value(nullptr);
    b["size"] = reception->at("size");
    b["state"] = "done";  // no longer queued: every recipient has its outcome
    b["next_attempt_at"] = nullptr;
  }
  json::array rcpts;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    RecipientState r;
    if (auto it = by_recipient.find(recipients[i]); it != by_recipient.end()) {
      r = it->second;
    }
    if (meta && !meta->IsDone(i) && r.state != "queued") {
      r.state = "deferred";  // an outcome of an earlier attempt; it is still queued
    } else if (meta && meta->IsDone(i) && r.state == "queued") {
      r.state = "done";  // its outcome event is not in the history
    }
    rcpts.push_back(json::object{{"email", recipients[i]},
                                 {"state", r.state},
                                 {"attempts", r.attempts},
                                 {"last_response", std::move(r.last_response)}});
  }
  b["recipients"] = std::move(rcpts);
  b["events"] = std::move(parsed);
  return view;
}

}  // namespace sluice::api
