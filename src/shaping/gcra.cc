#include "shaping/gcra.h"

#include <algorithm>
#include <charconv>

namespace sluice::shaping {

std::optional<Rate> ParseRate(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0) {
    return std::nullopt;
  }
  std::string_view count_text = text.substr(0, slash);
  std::string_view unit = text.substr(slash + 1);
  double count = 0;
  auto r = std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
  if (r.ec != std::errc() || r.ptr != count_text.data() + count_text.size() || count <= 0) {
    return std::nullopt;
  }
  double seconds = 0;
  if (unit == "s" || unit == "sec" || unit == "second") {
    seconds = 1;
  } else if (unit == "min" || unit == "m" || unit == "minute") {
    seconds = 60;
  } else if (unit == "h" || unit == "hr" || unit == "hour") {
    seconds = 3600;
  } else if (unit == "d" || unit == "day") {
    seconds = 86400;
  } else {
    return std::nullopt;
  }
  return Rate{count / seconds, std::string(text)};
}

Gcra::Gcra(Rate rate, std::uint32_t burst)
    : rate_(std::move(rate)),
      interval_(std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(1.0 / rate_.per_second))),
      tolerance_(interval_ * (std::max<std::uint32_t>(burst, 1) - 1)) {}

Clock::time_point Gcra::NextFree(Clock::time_point now) const {
  return std::max(now, tat_ - tolerance_);
}

Clock::time_point Gcra::Reserve(Clock::time_point now) {
  Clock::time_point at = NextFree(now);
  tat_ = std::max(tat_, at) + interval_;
  return at;
}

}  // namespace sluice::shaping
