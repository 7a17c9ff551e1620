#pragma once
// Security: rewrites content from senders we relay for; bounded nesting; a
//           part that does not decode is left as it came.
// Standards: RFC 2045 §6.7 (quoted-printable), §6.8 (base64), RFC 2046
//            §5.1 (multipart), RFC 2183 (Content-Disposition: attachments
//            are not touched), RFC 5322 §2.1.1 (lines of at most 998 octets).
//
// Applies a change to every HTML body part of a message (link tracking):
// each text/html part that is not an attachment is decoded, handed to the
// change, and encoded back in its own transfer encoding (a 7bit or 8bit part
// whose lines would grow past 998 octets becomes quoted-printable). Parts
// inside an attached message (message/rfc822) are left alone.

#include <functional>
#include <string>
#include <string_view>

namespace sluice::message {

using HtmlChange = std::function<std::string(std::string_view html)>;

// The message with `change` applied; `changed` (if given) says whether any
// part was an HTML part.
std::string RewriteHtmlParts(std::string_view message, const HtmlChange& change,
                             bool* changed = nullptr);

// RFC 2045 §6.7 decoding (soft line breaks removed, =XX decoded; a malformed
// escape is kept as it is).
std::string QuotedPrintableDecode(std::string_view text);

}  // namespace sluice::message
