#include "core/crc32c.h"

#include <array>
#include <cstring>

namespace sluice {
namespace {

constexpr std::array<std::uint32_t, 256> MakeTable() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) {
      c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;  // reflected 0x1EDC6F41
    }
    t[i] = c;
  }
  return t;
}

constexpr auto kTable = MakeTable();

std::uint32_t Bytewise(std::string_view data, std::uint32_t crc) {
  for (unsigned char b : data) {
    crc = kTable[(crc ^ b) & 0xff] ^ (crc >> 8);
  }
  return crc;
}

#if defined(__x86_64__)
// SSE 4.2 has an instruction for this very polynomial: eight octets at a time.
__attribute__((target("sse4.2"))) std::uint32_t Hardware(std::string_view data, std::uint32_t crc) {
  std::uint64_t c = crc;
  while (data.size() >= 8) {
    std::uint64_t word;
    std::memcpy(&word, data.data(), 8);
    c = __builtin_ia32_crc32di(c, word);
    data.remove_prefix(8);
  }
  auto c32 = static_cast<std::uint32_t>(c);
  for (unsigned char b : data) {
    c32 = __builtin_ia32_crc32qi(c32, b);
  }
  return c32;
}

const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

std::uint32_t Crc32c(std::string_view data, std::uint32_t crc) {
#if defined(__x86_64__)
  if (kHaveSse42) {
    return ~Hardware(data, ~crc);
  }
#endif
  return ~Bytewise(data, ~crc);
}

}  // namespace sluice
