#pragma once
// Security: a hit is believed only with its tag (HMAC-SHA256 under the
//           node's secret, 128 bits, compared in constant time); the link it
//           redirects to is inside the signed part, so a changed token is
//           refused and no one can use our host as an open redirector. A
//           tracking token never passes for a VERP or unsubscribe token
//           (another use of the secret).
//
// What an open pixel or a tracked link carries: the message, the recipient,
// tenant and campaign, when the message was taken, and for a link its
// target; all of it in the URL, so a hit is trusted without a lookup.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/spool_id.h"

namespace sluice::tracking {

enum class Kind { kOpen, kClick };

struct Hit {
  Kind kind = Kind::kOpen;
  SpoolId id;
  std::string recipient;
  std::string tenant;
  std::string campaign;
  std::int64_t sent = 0;  // when the message was taken, seconds since the epoch
  std::string url;        // a click's target (http or https)
  friend bool operator==(const Hit&, const Hit&) = default;
};

// URL-safe (base64url, no padding). nullopt if the recipient, tenant or
// campaign is over 255 octets or the URL over 4000.
std::optional<std::string> Encode(const Hit& hit, std::string_view secret);
// The hit a token carries, if it is ours and unchanged.
std::optional<Hit> Decode(std::string_view token, std::string_view secret);

}  // namespace sluice::tracking
