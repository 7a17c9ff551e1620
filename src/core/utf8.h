#pragma once
// UTF-8 well-formedness (RFC 3629 §4): no overlong forms, no surrogates
// (U+D800..U+DFFF), nothing above U+10FFFF, no stray continuation bytes.

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice {

// The length of the well-formed UTF-8 sequence at the start of `s`, or 0 if
// the octets there do not begin one (an ASCII octet is a sequence of 1).
std::size_t Utf8SequenceLength(std::string_view s);

bool IsValidUtf8(std::string_view s);

// `s` with each octet that does not belong to a well-formed sequence replaced
// by U+FFFD, so that whatever arrived from the network can be written as JSON.
std::string ToValidUtf8(std::string s);

}  // namespace sluice
