// Fuzz target: the MTA-STS policy file and TXT record parsers (RFC 8461 §3).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mtasts/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto p = sluice::mtasts::ParsePolicy(text)) {
    for (const auto& pattern : p->mx) {
      (void)sluice::mtasts::PatternMatches(pattern, "mx.example.com");
    }
    (void)p->Matches(text.substr(0, 64));
  }
  (void)sluice::mtasts::ParseRecord(text);
  return 0;
}
