#include "events/events.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/time_format.h"

namespace sluice::events {

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
  if (!e.tls_version.empty()) {
    o["tls"] = boost::json::object{{"version", e.tls_version}, {"cipher", e.tls_cipher}};
  } else {
    o["tls"] = nullptr;
  }
  return boost::json::serialize(o);
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

void Bus::Reopen() {
  for (auto& s : sinks_) {
    s->Reopen();
  }
}

}  // namespace sluice::events
