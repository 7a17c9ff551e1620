#include "core/utf8.h"

namespace sluice {

std::size_t Utf8SequenceLength(std::string_view s) {
  if (s.empty()) {
    return 0;
  }
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) {
    return 1;
  }
  auto at = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](std::size_t i) { return i < s.size() && (at(i) & 0xC0) == 0x80; };
  // RFC 3629 §4 UTF8-2/3/4: the second octet's range depends on the first.
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    return cont(1) ? 2 : 0;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(1) || !cont(2)) {
      return 0;
    }
    const auto b1 = at(1);
    if ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 > 0x9F)) {
      return 0;  // overlong, or a surrogate
    }
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) {
      return 0;
    }
    const auto b1 = at(1);
    if ((b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 > 0x8F)) {
      return 0;  // overlong, or above U+10FFFF
    }
    return 4;
  }
  return 0;  // C0, C1, F5..FF, or a continuation octet
}

bool IsValidUtf8(std::string_view s) {
  while (!s.empty()) {
    std::size_t n = Utf8SequenceLength(s);
    if (n == 0) {
      return false;
    }
    s.remove_prefix(n);
  }
  return true;
}

std::string ToValidUtf8(std::string s) {
  if (IsValidUtf8(s)) {
    return s;
  }
  std::string out;
  out.reserve(s.size() + 16);
  std::string_view rest(s);
  while (!rest.empty()) {
    std::size_t n = Utf8SequenceLength(rest);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      rest.remove_prefix(1);
    } else {
      out.append(rest.substr(0, n));
      rest.remove_prefix(n);
    }
  }
  return out;
}

}  // namespace sluice
