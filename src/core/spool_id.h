#pragma once
// SpoolId: a 128-bit, time-ordered message identifier. Its 16-byte big-endian
// form is the spool key, so keys sort by reception time; its text form is 32
// lower-case hex digits, used in replies ("queued as <id>") and events.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

class SpoolId {
 public:
  SpoolId() = default;
  SpoolId(std::uint64_t micros, std::uint64_t unique) : micros_(micros), unique_(unique) {}

  // A fresh id: current time in microseconds plus a per-process random prefix and counter.
  static SpoolId Generate();
  static std::optional<SpoolId> FromKey(std::string_view key);
  static std::optional<SpoolId> FromHex(std::string_view hex);

  std::array<char, 16> Key() const;
  std::string Hex() const;
  std::uint64_t micros() const { return micros_; }

  friend bool operator==(const SpoolId&, const SpoolId&) = default;
  friend auto operator<=>(const SpoolId&, const SpoolId&) = default;

 private:
  std::uint64_t micros_ = 0;
  std::uint64_t unique_ = 0;
};

}  // namespace sluice
