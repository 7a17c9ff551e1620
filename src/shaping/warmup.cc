#include "shaping/warmup.h"

#include <cmath>
#include <sstream>

namespace sluice::shaping {

void Warmup::SetSchedule(const std::string& source, WarmupSchedule s) {
  schedules_[source] = std::move(s);
}

std::int64_t Warmup::Day(const std::string& source,
                         std::chrono::system_clock::time_point now) const {
  auto it = schedules_.find(source);
  if (it == schedules_.end() || now < it->second.start) {
    return 0;
  }
  return (now - it->second.start) / day_length_ + 1;
}

std::optional<std::uint64_t> Warmup::Cap(const std::string& source,
                                         std::chrono::system_clock::time_point now) const {
  auto it = schedules_.find(source);
  if (it == schedules_.end()) {
    return std::nullopt;
  }
  const WarmupSchedule& s = it->second;
  std::int64_t day = Day(source, now);
  if (day <= 0) {
    return 0;  // not started: nothing from this source yet
  }
  if (!s.plan.empty()) {
    if (static_cast<std::size_t>(day) > s.plan.size()) {
      return std::nullopt;
    }
    return s.plan[static_cast<std::size_t>(day - 1)];
  }
  double cap = static_cast<double>(s.initial) * std::pow(s.growth, static_cast<double>(day - 1));
  if (s.max > 0 && cap >= static_cast<double>(s.max)) {
    return s.max;
  }
  return cap > 1e15 ? std::optional<std::uint64_t>() : static_cast<std::uint64_t>(cap);
}

bool Warmup::TryTake(const std::string& source, const std::string& provider,
                     std::chrono::system_clock::time_point now) {
  auto cap = Cap(source, now);
  if (!cap) {
    return true;
  }
  Counts& c = counts_[source];
  std::int64_t day = Day(source, now);
  if (c.day != day) {
    c = Counts{day, {}};
  }
  auto& n = c.by_provider[provider];
  if (n >= *cap) {
    return false;
  }
  ++n;
  return true;
}

void Warmup::GiveBack(const std::string& source, const std::string& provider,
                      std::chrono::system_clock::time_point now) {
  auto it = counts_.find(source);
  if (it == counts_.end() || it->second.day != Day(source, now)) {
    return;  // taken on an earlier day, whose count is gone
  }
  auto p = it->second.by_provider.find(provider);
  if (p != it->second.by_provider.end() && p->second > 0) {
    --p->second;
  }
}

std::uint64_t Warmup::Count(const std::string& source, const std::string& provider,
                            std::chrono::system_clock::time_point now) const {
  auto it = counts_.find(source);
  if (it == counts_.end() || it->second.day != Day(source, now)) {
    return 0;
  }
  auto p = it->second.by_provider.find(provider);
  return p == it->second.by_provider.end() ? 0 : p->second;
}

std::chrono::system_clock::time_point Warmup::NextDay(
    const std::string& source, std::chrono::system_clock::time_point now) const {
  auto it = schedules_.find(source);
  if (it == schedules_.end()) {
    return now;
  }
  if (now < it->second.start) {
    return it->second.start;
  }
  return it->second.start +
         Day(source, now) *
             std::chrono::duration_cast<std::chrono::system_clock::duration>(day_length_);
}

std::vector<Warmup::SourceStatus> Warmup::Status(std::chrono::system_clock::time_point now) const {
  std::vector<SourceStatus> out;
  for (const auto& [source, s] : schedules_) {
    SourceStatus st;
    st.source = source;
    st.day = Day(source, now);
    st.cap = Cap(source, now);
    auto it = counts_.find(source);
    if (it != counts_.end() && it->second.day == st.day) {
      st.counts = it->second.by_provider;
    }
    out.push_back(std::move(st));
  }
  return out;
}

std::string Warmup::Save() const {
  // One line per source and provider: "source day provider count".
  std::string out;
  for (const auto& [source, c] : counts_) {
    for (const auto& [p, n] : c.by_provider) {
      out += source + " " + std::to_string(c.day) + " " + p + " " + std::to_string(n) + "\n";
    }
  }
  return out;
}

bool Warmup::Load(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::map<std::string, Counts> loaded;
  while (std::getline(in, line)) {
    if (line.empty()) {
      continue;
    }
    std::istringstream fields(line);
    std::string source;
    std::string provider;
    std::int64_t day = 0;
    std::uint64_t n = 0;
    if (!(fields >> source >> day >> provider >> n)) {
      return false;
    }
    Counts& c = loaded[source];
    if (c.by_provider.empty()) {
      c.day = day;
    }
    c.by_provider[provider] = n;
  }
  for (auto& [source, c] : loaded) {
    counts_[source] = std::move(c);
  }
  return true;
}

}  // namespace sluice::shaping
