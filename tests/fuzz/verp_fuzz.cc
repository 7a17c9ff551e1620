// Fuzz target: a local part to a bounce domain. Whatever comes in, decoding
// ends, and what decodes encodes back to the same address (case aside).
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bounce/verp.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  constexpr std::string_view kSecret = "fuzzing secret, sixteen+ octets";
  auto tag = sluice::bounce::DecodeVerp(in, kSecret);
  if (!tag) {
    return 0;
  }
  std::string lower(in);
  for (auto& c : lower) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (sluice::bounce::EncodeVerp(*tag, kSecret) != lower) {
    std::abort();  // one address per tag
  }
  return 0;
}
