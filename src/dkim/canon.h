#pragma once
// Security: reads header sections and bodies of messages from senders we relay
//           for; every loop is bounded by the input.
// Standards: RFC 6376 §3.4 (canonicalisation: simple and relaxed, header and body),
//            §5.4.2 (choosing header field instances), RFC 5322 §2.2 (fields).
//
// Line ends: a lone CR or LF counts as a line end, as it does when the message
// is sent (smtp::DotStuff writes every line end as CRLF), so the signature
// covers exactly what the receiver reads.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::dkim {

enum class Canon { kSimple, kRelaxed };

struct CanonPair {
  Canon header = Canon::kRelaxed;
  Canon body = Canon::kRelaxed;
};
// "relaxed/simple", "simple" (= simple/simple), "relaxed" (= relaxed/simple).
std::optional<CanonPair> ParseCanon(std::string_view text);
std::string ToString(CanonPair c);

// One header field: its name (as written) and all of its text without the
// final line end (folded continuation lines included).
struct HeaderField {
  std::string_view name;
  std::string_view raw;
};
// The fields of a header section (up to the first empty line, or all of `text`).
// A line that neither starts a field nor continues one is skipped.
std::vector<HeaderField> SplitFields(std::string_view text);
// Where the body starts: just past the empty line that ends the header section
// (text.size() if there is none).
std::size_t BodyOffset(std::string_view text);

// The canonical form of one field, ending in CRLF.
std::string CanonHeader(Canon c, const HeaderField& f);
// The same, for a field given as raw text (e.g. our own DKIM-Signature).
std::string CanonHeaderText(Canon c, std::string_view raw);

// Streams the canonical body to `out` in pieces (no whole copy of the body).
// Returns the number of canonical bytes produced.
std::size_t CanonBody(Canon c, std::string_view body,
                      const std::function<void(std::string_view)>& out);

bool IEquals(std::string_view a, std::string_view b);

}  // namespace sluice::dkim
