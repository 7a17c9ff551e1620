// Fuzz target: a DMARC aggregate report attachment anyone may mail to the rua
// address (gzip, zip or XML). Whatever comes in, unpacking stays within its
// bound, the parse ends, and a report it accepts is one: named, with a
// domain, a sane period and parseable source addresses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/network.h"
#include "dmarc/aggregate.h"
#include "dmarc/unpack.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  constexpr std::size_t kMax = 1u << 20;
  auto xml = sluice::dmarc::Unpack(in, kMax);
  if (!xml) {
    return 0;
  }
  if (xml->size() > kMax) {
    std::abort();  // the bound holds
  }
  sluice::dmarc::ParseLimits limits;
  limits.max_bytes = kMax;
  auto r = sluice::dmarc::ParseAggregate(*xml, limits);
  if (!r) {
    return 0;
  }
  if (r->org_name.empty() || r->report_id.empty() || r->domain.empty() || r->end < r->begin ||
      r->rows.size() > limits.max_records) {
    std::abort();
  }
  for (const auto& row : r->rows) {
    if (!sluice::IpAddress::Parse(row.source_ip)) {
      std::abort();
    }
  }
  return 0;
}
