#pragma once
// Security: parses DKIM-Signature fields from received mail and key records
//           from DNS; both untrusted, both bounded by their input.
// Standards: RFC 6376 §3.2 (tag=value lists), §3.6.1 (key records).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::dkim {

// tag=value pairs in order; values keep their inner folding whitespace.
using TagList = std::vector<std::pair<std::string, std::string>>;

// Parses "a=1; b = 2 ;" style lists. Returns nullopt on a syntax error or a
// duplicated tag (§3.2: "Tags with duplicate names MUST NOT occur").
std::optional<TagList> ParseTagList(std::string_view text);

// The value of `tag`, if present.
std::optional<std::string_view> Find(const TagList& tags, std::string_view tag);

// Drops all folding whitespace (for base64 values such as b=, bh= and p=).
std::string StripWhitespace(std::string_view s);

}  // namespace sluice::dkim
