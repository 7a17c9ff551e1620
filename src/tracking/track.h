#pragma once
// Security: only links a sender wrote (http and https) are wrapped, each in a
//           token that carries and signs its target; links under the
//           unsubscribe URL are left as they are, so a scanner following
//           tracked links never reaches an unsubscribe page through us.
//
// Open and click tracking applied to a message as it is taken (before DKIM
// signing): an open pixel in each HTML part and its links sent through
// `base_url` + "/t/c/TOKEN"; the pixel is `base_url` + "/t/o/TOKEN".

#include <string>
#include <string_view>

#include "tracking/token.h"

namespace sluice::tracking {

struct Settings {
  std::string base_url;     // "https://t.example.com" (no trailing '/')
  std::string secret;       // tokens' key
  std::string skip_prefix;  // links starting with it are left ("" none)
};

// `message` with tracking for `hit` (its recipient, message, tenant,
// campaign, sent time; kind and url are set here); `changed` says whether
// there was an HTML part to track.
std::string Track(std::string_view message, const Hit& hit, bool opens, bool clicks,
                  const Settings& s, bool* changed = nullptr);

// A link target as a browser takes it (tabs and line ends dropped, octets
// past ASCII percent-encoded), or "" if it is not one to wrap (spaces or
// control characters left in it).
std::string CleanUrl(std::string_view url);

}  // namespace sluice::tracking
