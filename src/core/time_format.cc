#include "core/time_format.h"

#include <charconv>
#include <ctime>

#include <fmt/format.h>

namespace sluice {
namespace {
std::tm UtcTm(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return tm;
}
}  // namespace

std::string Rfc5322Date(std::chrono::system_clock::time_point t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm = UtcTm(t);
  return fmt::format("{}, {} {} {} {:02}:{:02}:{:02} +0000", kDays[tm.tm_wday], tm.tm_mday,
                     kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string Rfc3339Micros(std::chrono::system_clock::time_point t) {
  std::tm tm = UtcTm(t);
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() % 1000000;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text) {
  auto num = [&](std::size_t pos, std::size_t len, int& out) {
    if (pos + len > text.size()) {
      return false;
    }
    auto r = std::from_chars(text.data() + pos, text.data() + pos + len, out);
    return r.ec == std::errc() && r.ptr == text.data() + pos + len;
  };
  std::tm tm{};
  int y = 0;
  int mo = 0;
  int d = 0;
  if (!num(0, 4, y) || text.size() < 10 || text[4] != '-' || !num(5, 2, mo) || text[7] != '-' ||
      !num(8, 2, d) || mo < 1 || mo > 12 || d < 1 || d > 31) {
    return std::nullopt;
  }
  // system_clock counts nanoseconds in 64 bits: about 1678 to 2262. Times
  // outside 1970-2200 are refused rather than wrapped.
  if (y < 1970 || y > 2200) {
    return std::nullopt;
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  long offset = 0;
  long micros = 0;
  if (text.size() > 10) {
    int h = 0;
    int mi = 0;
    int sec = 0;
    if ((text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !num(11, 2, h) ||
        text.size() < 19 || text[13] != ':' || !num(14, 2, mi) || text[16] != ':' ||
        !num(17, 2, sec) || h > 23 || mi > 59 || sec > 60) {
      return std::nullopt;
    }
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    std::string_view zone = text.substr(19);
    if (!zone.empty() && zone.front() == '.') {  // fractions, to the microsecond
      std::size_t n = 1;
      long scale = 100000;
      while (n < zone.size() && zone[n] >= '0' && zone[n] <= '9') {
        micros += (zone[n] - '0') * scale;
        scale /= 10;
        ++n;
      }
      if (n == 1) {
        return std::nullopt;  // a '.' with no digits
      }
      zone.remove_prefix(n);
    }
    if (zone == "Z" || zone == "z") {
      offset = 0;
    } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
      int oh = 0;
      int om = 0;
      std::size_t base = text.size() - 6;
      if (!num(base + 1, 2, oh) || !num(base + 4, 2, om)) {
        return std::nullopt;
      }
      offset = (zone[0] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
    } else {
      return std::nullopt;
    }
  }
  if (offset < -86399 || offset > 86399) {
    return std::nullopt;
  }
  const int want_day = tm.tm_mday;
  std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1) || tm.tm_mday != want_day) {
    return std::nullopt;  // e.g. 2026-02-31, which timegm would make 3 March
  }
  return std::chrono::system_clock::from_time_t(t - offset) + std::chrono::microseconds(micros);
}

}  // namespace sluice
