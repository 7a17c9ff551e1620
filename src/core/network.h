#pragma once
// Security: parses operator config and peer addresses from the kernel.
// Standards: RFC 4632 (CIDR), RFC 4291 §2.5.5.2 (IPv4-mapped IPv6).
//
// IP networks in CIDR form ("127.0.0.0/8", "::1/128") and membership tests.
// IPv4 addresses are kept IPv4-mapped, so one network list covers both families.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

class IpAddress {
 public:
  static std::optional<IpAddress> Parse(std::string_view text);
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
  bool IsLoopback() const;
  // The canonical spelling: dotted quad for IPv4, RFC 5952 for IPv6.
  std::string ToString() const;

 private:
  std::array<std::uint8_t, 16> bytes_{};
};

class Network {
 public:
  // "a.b.c.d/n", "x::y/n" or a single address.
  static std::optional<Network> Parse(std::string_view text);
  bool Contains(const IpAddress& ip) const;
  // Prefix length in the IPv6 space (an IPv4 /24 is 120): larger is more specific.
  int prefix() const { return prefix_; }

 private:
  IpAddress base_;
  int prefix_ = 128;
};

bool AnyContains(const std::vector<Network>& nets, std::string_view ip);

}  // namespace sluice
