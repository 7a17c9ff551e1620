#pragma once
// Standards: RFC 4648 §4 (base64, with padding).

#include <optional>
#include <string>
#include <string_view>

namespace sluice {

// Strict: no whitespace, correct padding; nullopt otherwise.
std::optional<std::string> Base64Decode(std::string_view in);
std::string Base64Encode(std::string_view in);

}  // namespace sluice
