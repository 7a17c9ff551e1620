#include "tracking/machine.h"

#include <array>

#include "core/ascii.h"

namespace sluice::tracking {
namespace {

struct Pattern {
  std::string_view needle;  // lower case, found anywhere in the User-Agent
  std::string_view reason;
};

// Known fetchers (lower-case substrings of their User-Agent fields).
constexpr std::array kPatterns{
    // Mail providers' image proxies fetch every image when mail arrives.
    Pattern{"googleimageproxy", "image-proxy"},
    Pattern{"ggpht.com", "image-proxy"},
    Pattern{"yahoomailproxy", "image-proxy"},
    Pattern{"outlook-ios", "image-proxy"},
    // Security gateways that follow every link before the reader does.
    Pattern{"barracuda", "link-scanner"},
    Pattern{"mimecast", "link-scanner"},
    Pattern{"proofpoint", "link-scanner"},
    Pattern{"ironport", "link-scanner"},
    Pattern{"safelinks", "link-scanner"},
    Pattern{"trendmicro", "link-scanner"},
    Pattern{"forcepoint", "link-scanner"},
    Pattern{"fortiguard", "link-scanner"},
    Pattern{"sophos", "link-scanner"},
    Pattern{"symantec", "link-scanner"},
    Pattern{"zscaler", "link-scanner"},
    Pattern{"headlesschrome", "link-scanner"},
    Pattern{"phantomjs", "link-scanner"},
    // Chat and social previews of a forwarded link.
    Pattern{"bingpreview", "preview"},
    Pattern{"slackbot", "preview"},
    Pattern{"facebookexternalhit", "preview"},
    Pattern{"twitterbot", "preview"},
    Pattern{"linkedinbot", "preview"},
    Pattern{"whatsapp", "preview"},
    Pattern{"discordbot", "preview"},
    Pattern{"telegrambot", "preview"},
    Pattern{"skypeuripreview", "preview"},
    // Scripts and crawlers.
    Pattern{"curl/", "script"},
    Pattern{"wget/", "script"},
    Pattern{"python-", "script"},
    Pattern{"go-http-client", "script"},
    Pattern{"java/", "script"},
    Pattern{"okhttp", "script"},
    Pattern{"libwww-perl", "script"},
    Pattern{"bot", "script"},
    Pattern{"crawler", "script"},
    Pattern{"spider", "script"},
    Pattern{"scanner", "link-scanner"},
};

}  // namespace

std::string MachineReason(const Request& r, std::chrono::seconds too_soon) {
  if (r.method == "HEAD") {
    return "head-request";
  }
  if (TrimWsp(r.user_agent).empty()) {
    return "no-user-agent";
  }
  const std::string ua = AsciiLower(r.user_agent);
  for (const auto& p : kPatterns) {
    if (ua.find(p.needle) != std::string::npos) {
      return std::string(p.reason);
    }
  }
  if (r.sent > 0 && r.now - r.sent < too_soon.count()) {
    return "too-soon";
  }
  return "";
}

}  // namespace sluice::tracking
