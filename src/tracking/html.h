#pragma once
// Security: reads HTML from senders we relay for, once, left to right, with
//           no recursion; only http and https links are rewritten (never
//           mailto:, javascript: or relative ones), and what is written back
//           is a URL of our own alphabet only.
// Standards: HTML Living Standard §13.2.5 (tokenization: attribute values
//            quoted with " or ', or unquoted; comments), §13.5 (character
//            references in attribute values).
//
// Link and open tracking on one HTML text: the href of every <a> and <area>
// with an http(s) target goes through `link` (the target as the browser
// would read it, character references decoded), and a 1x1 image is added
// before </body> (or at the end).

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::tracking {

// The replacement URL for a link target, or nullopt to leave it.
using LinkFn = std::function<std::optional<std::string>(const std::string& url)>;

// `link` null: links are left; `pixel_url` empty: no image.
std::string TrackHtml(std::string_view html, const LinkFn& link, std::string_view pixel_url);

// The text of an attribute value with character references decoded
// (&amp; &lt; &gt; &quot; &apos; &#NN; &#xHH;); others are kept as written.
std::string DecodeAttribute(std::string_view value);

}  // namespace sluice::tracking
