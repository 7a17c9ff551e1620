#pragma once
// Security: walks content from untrusted senders: bounded nesting (callers
//           stop at kMaxDepth), no allocation beyond the fields' list.
// Standards: RFC 2045 §5.1 (Content-Type and its parameters), RFC 2046
//            §5.1.1 (multipart delimiters: the CRLF before one belongs to it).
//
// The pieces of a MIME entity, for the parts of Sluice that rewrite content
// (the 7-bit downgrade, link tracking): its header fields, its media type and
// parameters, and the walk over a multipart body.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::message::mime {

inline constexpr int kMaxDepth = 32;

bool IEquals(std::string_view a, std::string_view b);
// Without leading and trailing spaces, tabs and line ends.
std::string_view Trim(std::string_view s);

// One entity: its header section (each field ending in CRLF, without the
// blank line) and its body.
struct Entity {
  std::string_view headers;
  std::string_view body;
};
Entity Split(std::string_view text);

// A header field: its name and its whole text (folded lines included).
struct Field {
  std::string_view name;
  std::string_view text;
};
std::vector<Field> Fields(std::string_view headers);
// The unfolded value of the first field named `name`, or "".
std::string Value(const std::vector<Field>& fields, std::string_view name);
// "type/subtype" (lower case) of a Content-Type value; "" if absent.
std::string MediaType(std::string_view value);
// A parameter of a Content-Type value, quoted or not; "" if absent.
std::string Param(std::string_view value, std::string_view name);
// The header section without the fields named in `drop`, plus `extra` fields.
std::string Rewrite(const std::vector<Field>& fields, const std::vector<std::string_view>& drop,
                    std::string_view extra);

// Walks a multipart body: `filler` gets the preamble and the epilogue (with
// the close delimiter), `raw` the delimiter lines and the line ends around
// them, `part` each part's text; in order, so writing them all out in turn
// gives back the body. Stops at the first `part` that returns false (and
// returns false). A body without a delimiter is all filler.
bool WalkMultipart(std::string_view body, const std::string& boundary,
                   const std::function<void(std::string_view)>& filler,
                   const std::function<void(std::string_view)>& raw,
                   const std::function<bool(std::string_view)>& part);

}  // namespace sluice::message::mime
