#pragma once
// Security: rewrites message content from untrusted senders; bounded recursion.
// Standards: RFC 6152 §3 (without 8BITMIME at the next hop, a client converts
//            8-bit content or returns it), RFC 2045 §6.7 (quoted-printable),
//            RFC 2046 §5.1.1 (multipart delimiters), RFC 1428 (unknown-8bit).

#include <string>
#include <string_view>

#include "core/result.h"

namespace sluice::message {

// True if any octet has the high bit set.
bool Has8Bit(std::string_view data);

// The 7-bit form of a message (header section, blank line, body): each leaf
// part whose body has 8-bit octets is re-encoded quoted-printable (its
// Content-Transfer-Encoding field replaced); multiparts and message/rfc822
// parts are walked. A non-MIME message gains MIME-Version and, if it has no
// Content-Type, "text/plain; charset=unknown-8bit". Fails, saying why, where
// only SMTPUTF8 or a broken encoding could carry the octets: 8-bit octets in a
// header section, in a base64 or quoted-printable part, or in message/global.
Result<std::string, std::string> DowngradeTo7Bit(std::string_view message);

// RFC 2045 §6.7 quoted-printable of `body` (CRLF line ends kept as hard breaks,
// encoded lines at most 76 characters).
std::string QuotedPrintable(std::string_view body);

}  // namespace sluice::message
