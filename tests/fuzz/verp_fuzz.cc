// Fuzz target: a local part to a bounce domain, or an unsubscribe token.
// Whatever comes in, decoding ends, and what decodes encodes back to the same
// text (case aside); no text is both kinds.
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
  auto token = sluice::bounce::DecodeUnsubscribe(in, kSecret);
  if (tag && token) {
    std::abort();
  }
  std::string lower(in);
  for (auto& c : lower) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (tag && sluice::bounce::EncodeVerp(*tag, kSecret) != lower) {
    std::abort();  // one address per tag
  }
  if (token && sluice::bounce::EncodeUnsubscribe(*token, kSecret) != lower) {
    std::abort();
  }
  if (auto link = sluice::bounce::DecodeUnsubscribeLink(in, kSecret)) {
    if (sluice::bounce::EncodeUnsubscribeLink(*link, kSecret) != lower) {
      std::abort();
    }
  }
  return 0;
}
