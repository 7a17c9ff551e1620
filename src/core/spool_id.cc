#include "core/spool_id.h"

#include <atomic>
#include <chrono>
#include <random>

namespace sluice {
namespace {

std::uint64_t ProcessPrefix() {
  static const std::uint64_t prefix = [] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32);
  }();
  return prefix;
}

void PutBe64(char* out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

std::uint64_t GetBe64(const char* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<unsigned char>(in[i]);
  }
  return v;
}

}  // namespace

SpoolId SpoolId::Generate() {
  static std::atomic<std::uint32_t> counter{0};
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  return SpoolId(static_cast<std::uint64_t>(now),
                 ProcessPrefix() | counter.fetch_add(1, std::memory_order_relaxed));
}

std::array<char, 16> SpoolId::Key() const {
  std::array<char, 16> k{};
  PutBe64(k.data(), micros_);
  PutBe64(k.data() + 8, unique_);
  return k;
}

std::optional<SpoolId> SpoolId::FromKey(std::string_view key) {
  if (key.size() != 16) {
    return std::nullopt;
  }
  return SpoolId(GetBe64(key.data()), GetBe64(key.data() + 8));
}

std::string SpoolId::Hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  auto k = Key();
  std::string out(32, '0');
  for (std::size_t i = 0; i < k.size(); ++i) {
    auto b = static_cast<unsigned char>(k[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 0xf];
  }
  return out;
}

std::optional<SpoolId> SpoolId::FromHex(std::string_view hex) {
  if (hex.size() != 32) {
    return std::nullopt;
  }
  std::array<char, 16> k{};
  for (std::size_t i = 0; i < 16; ++i) {
    int v = 0;
    for (std::size_t j = 0; j < 2; ++j) {
      char c = hex[2 * i + j];
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (d < 0) {
        return std::nullopt;
      }
      v = v * 16 + d;
    }
    k[i] = static_cast<char>(v);
  }
  return FromKey(std::string_view(k.data(), k.size()));
}

}  // namespace sluice
