#pragma once
// Why a hit was probably not a person: link scanners of mail filters,
// privacy proxies that fetch every image, previews, scripts, a HEAD request,
// a hit within seconds of the message being sent. Hits are flagged, never
// dropped, so rates can be shown with and without them.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::tracking {

struct Request {
  std::string_view method;      // "GET", "HEAD"
  std::string_view user_agent;  // "" if none
  std::int64_t sent = 0;        // when the message was taken (seconds since the epoch)
  std::int64_t now = 0;
};

// "" for a person as far as can be told; else the reason ("head-request",
// "no-user-agent", "image-proxy", "link-scanner", "preview", "script",
// "too-soon").
std::string MachineReason(const Request& r, std::chrono::seconds too_soon);

}  // namespace sluice::tracking
