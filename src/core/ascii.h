#pragma once
// ASCII-only case mapping, for protocol tokens (domain names, tags, keywords).

#include <string>
#include <string_view>

namespace sluice {

inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c | 0x20);
    }
  }
  return out;
}

}  // namespace sluice
