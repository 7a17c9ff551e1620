#pragma once
// An event sink for unit tests: keeps every JSON line.

#include <memory>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "events/events.h"

namespace sluice::testing {

class EventLog {
 public:
  explicit EventLog(events::Bus& bus) {
    auto sink = std::make_unique<Capture>();
    lines_ = &sink->lines;
    bus.AddSink(std::move(sink));
  }
  // The records of one type ("Delivery", "Expiration", "Automation" ...).
  std::vector<boost::json::object> Of(const std::string& type) const {
    std::vector<boost::json::object> out;
    for (const auto& line : *lines_) {
      auto v = boost::json::parse(line).as_object();
      if (v["type"].as_string() == type) {
        out.push_back(std::move(v));
      }
    }
    return out;
  }
  std::size_t Count(const std::string& type) const { return Of(type).size(); }
  std::size_t size() const { return lines_->size(); }
  // Every record, one per line (for failure messages).
  std::string Dump() const {
    std::string out;
    for (const auto& line : *lines_) {
      out += line + "\n";
    }
    return out;
  }

 private:
  struct Capture final : events::Sink {
    std::vector<std::string> lines;
    void Write(const std::string& line) override { lines.push_back(line); }
  };
  std::vector<std::string>* lines_;
};

}  // namespace sluice::testing
