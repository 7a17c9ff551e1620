#pragma once
// Date-time text for headers and records.
// Standards: RFC 5322 §3.3 (date-time), RFC 3339 (event timestamps).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

// "Wed, 25 Nov 2026 21:11:19 +0000"
std::string Rfc5322Date(std::chrono::system_clock::time_point t);
// "2026-11-25T21:11:19.123456Z"
std::string Rfc3339Micros(std::chrono::system_clock::time_point t);
// "2026-11-25" (midnight UTC) or "2026-11-25T21:11:19Z" / "...+01:00"; nullopt if malformed
// or outside the years 1970-2200.
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text);

}  // namespace sluice
