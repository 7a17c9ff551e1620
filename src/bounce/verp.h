#pragma once
// Security: a bounce address is only believed with its tag: an HMAC-SHA256
//           (truncated to 64 bits) under the node's VERP secret over what it
//           encodes, so nobody can forge a bounce for a message or recipient
//           they did not receive mail from. Compared in constant time.
// Standards: RFC 5321 §4.5.3.1.1 (a local part of at most 64 octets),
//            RFC 4648 §6 (base32, here in lower case without padding: local
//            parts may be case-folded on the way back).
//
// VERP (variable envelope return path): the envelope sender of a message to
// one recipient names that message and recipient, so an asynchronous bounce
// to it says which delivery failed, whatever the bounce's own text.
//   local part = "b-" base32(message id (16) | recipient index (varint) | tag (8))
// 42 to 46 characters.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/spool_id.h"

namespace sluice::bounce {

struct VerpTag {
  SpoolId id;
  std::uint32_t recipient = 0;  // index in the message's envelope
  friend bool operator==(const VerpTag&, const VerpTag&) = default;
};

// The local part for `tag` under `secret` (at least 16 octets of randomness).
std::string EncodeVerp(const VerpTag& tag, std::string_view secret);
// The tag a local part carries, if it is ours and untampered.
std::optional<VerpTag> DecodeVerp(std::string_view local_part, std::string_view secret);

// The same for unsubscribe tokens (RFC 8058 links and RFC 2369 mailto local
// parts): "u-" and a tag under another use of the secret, so neither kind
// of address ever passes for the other.
std::string EncodeUnsubscribe(const VerpTag& tag, std::string_view secret);
std::optional<VerpTag> DecodeUnsubscribe(std::string_view token, std::string_view secret);

// A one-click link's token (RFC 8058): it carries the recipient, tenant and
// campaign as well, so it works however long after the message the link is
// followed; "l" and base32, a 128-bit tag. nullopt if a part is over 255
// octets (encode) or the token is not ours or was changed (decode).
struct UnsubscribeLink {
  VerpTag tag;
  std::string recipient;
  std::string tenant;
  std::string campaign;
  friend bool operator==(const UnsubscribeLink&, const UnsubscribeLink&) = default;
};
std::optional<std::string> EncodeUnsubscribeLink(const UnsubscribeLink& link,
                                                 std::string_view secret);
std::optional<UnsubscribeLink> DecodeUnsubscribeLink(std::string_view token,
                                                     std::string_view secret);

}  // namespace sluice::bounce
