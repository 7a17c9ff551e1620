#include "events/events.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/time_format.h"
#include "core/utf8.h"

namespace sluice::events {
namespace {

boost::json::value OrNull(const std::string& s) {
  return s.empty() ? boost::json::value(nullptr) : boost::json::value(s);
}

}  // namespace

std::string ToJson(const Reception& e) {
  boost::json::array rcpts;
  for (const auto& r : e.recipients) {
    rcpts.emplace_back(r);
  }
  boost::json::object o;
  o["type"] = "Reception";
  o["id"] = e.id;
  o["timestamp"] = Rfc3339Micros(e.timestamp);
  o["sender"] = e.sender;
  o["recipients"] = std::move(rcpts);
  o["size"] = e.size;
  o["client_ip"] = e.client_ip;
  o["client_port"] = e.client_port;
  o["helo"] = e.helo;
  o["listener"] = e.listener;
  o["protocol"] = e.protocol;
  if (!e.auth_user.empty()) {
    o["auth_user"] = e.auth_user;
  } else {
    o["auth_user"] = nullptr;
  }
  o["tenant"] = OrNull(e.tenant);
  o["campaign"] = OrNull(e.campaign);
  if (!e.tls_version.empty()) {
    o["tls"] = boost::json::object{{"version", e.tls_version}, {"cipher", e.tls_cipher}};
  } else {
    o["tls"] = nullptr;
  }
  return ToValidUtf8(boost::json::serialize(o));
}

const char* ToString(OutcomeType t) {
  switch (t) {
    case OutcomeType::kDelivery:
      return "Delivery";
    case OutcomeType::kTransientFailure:
      return "TransientFailure";
    case OutcomeType::kBounce:
      return "Bounce";
    case OutcomeType::kExpiration:
      return "Expiration";
    case OutcomeType::kAdminBounce:
      return "AdminBounce";
  }
  return "Outcome";
}

std::string ToJson(const Outcome& e) {
  boost::json::object o;
  o["type"] = ToString(e.type);
  o["id"] = e.id;
  o["timestamp"] = Rfc3339Micros(e.timestamp);
  o["sender"] = e.sender;
  o["recipient"] = e.recipient;
  o["queue"] = e.queue;
  o["tenant"] = OrNull(e.tenant);
  o["campaign"] = OrNull(e.campaign);
  o["site"] = OrNull(e.site);
  o["mx_host"] = OrNull(e.mx_host);
  o["mx_ip"] = OrNull(e.mx_ip);
  o["egress_source"] = OrNull(e.egress_source);
  o["attempt"] = e.attempt;
  o["response"] =
      boost::json::object{{"code", e.code}, {"enhanced", OrNull(e.enhanced)}, {"text", e.text}};
  if (!e.tls_version.empty()) {
    o["tls"] = boost::json::object{{"version", e.tls_version}, {"cipher", e.tls_cipher}};
  } else {
    o["tls"] = nullptr;
  }
  o["received"] = Rfc3339Micros(e.received);
  o["duration_ms"] = e.duration.count();
  return ToValidUtf8(boost::json::serialize(o));
}

std::string ToJson(const Automation& e) {
  boost::json::object o;
  o["type"] = "Automation";
  o["timestamp"] = Rfc3339Micros(e.timestamp);
  o["rule"] = e.rule;
  o["action"] = e.action;
  o["site"] = e.site;
  if (!e.tenant.empty() || !e.campaign.empty()) {
    o["tenant"] = OrNull(e.tenant);
    o["campaign"] = OrNull(e.campaign);
  }
  o["egress_source"] =
      e.egress_source.empty() ? boost::json::value(nullptr) : boost::json::value(e.egress_source);
  o["until"] = Rfc3339Micros(e.until);
  if (e.code != 0) {
    o["response"] =
        boost::json::object{{"code", e.code},
                            {"enhanced", e.enhanced.empty() ? boost::json::value(nullptr)
                                                            : boost::json::value(e.enhanced)},
                            {"text", e.text}};
  } else {
    o["response"] = nullptr;
  }
  return ToValidUtf8(boost::json::serialize(o));
}

Result<std::unique_ptr<JsonlFileSink>, std::string> JsonlFileSink::Open(std::string path) {
  std::unique_ptr<JsonlFileSink> s(new JsonlFileSink(std::move(path)));
  s->file_ = std::fopen(s->path_.c_str(), "ae");
  if (s->file_ == nullptr) {
    return Fail("cannot open event log " + s->path_);
  }
  return s;
}

JsonlFileSink::~JsonlFileSink() {
  if (file_ != nullptr) {
    std::fclose(file_);
  }
}

void JsonlFileSink::Write(const std::string& line) {
  std::lock_guard lock(mu_);
  if (file_ == nullptr) {
    return;
  }
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fputc('\n', file_);
  std::fflush(file_);
}

void JsonlFileSink::Reopen() {
  std::lock_guard lock(mu_);
  if (std::FILE* f = std::fopen(path_.c_str(), "ae")) {
    if (file_ != nullptr) {
      std::fclose(file_);
    }
    file_ = f;
  }
}

void Bus::WriteLine(const std::string& line) {
  for (auto& s : sinks_) {
    s->Write(line);
  }
}

void Bus::Publish(const Reception& e) {
  WriteLine(ToJson(e));
}

void Bus::Publish(const Outcome& e) {
  WriteLine(ToJson(e));
}

void Bus::Publish(const Automation& e) {
  WriteLine(ToJson(e));
}

void Bus::Reopen() {
  for (auto& s : sinks_) {
    s->Reopen();
  }
}

}  // namespace sluice::events
