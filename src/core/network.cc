#include "core/network.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include <arpa/inet.h>

namespace sluice {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  std::string s(text);
  IpAddress ip;
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    ip.bytes_[10] = 0xff;
    ip.bytes_[11] = 0xff;
    std::memcpy(ip.bytes_.data() + 12, &v4, 4);
    return ip;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(ip.bytes_.data(), &v6, 16);
    return ip;
  }
  return std::nullopt;
}

bool IpAddress::IsLoopback() const {
  static constexpr std::array<std::uint8_t, 16> kV6Loopback = {0, 0, 0, 0, 0, 0, 0, 0,
                                                               0, 0, 0, 0, 0, 0, 0, 1};
  bool mapped = std::all_of(bytes_.begin(), bytes_.begin() + 10, [](auto b) { return b == 0; }) &&
                bytes_[10] == 0xff && bytes_[11] == 0xff;
  return bytes_ == kV6Loopback || (mapped && bytes_[12] == 127);
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  bool mapped = std::all_of(bytes_.begin(), bytes_.begin() + 10, [](auto b) { return b == 0; }) &&
                bytes_[10] == 0xff && bytes_[11] == 0xff;
  if (mapped) {
    inet_ntop(AF_INET, bytes_.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf);
  }
  return buf;
}

std::optional<Network> Network::Parse(std::string_view text) {
  auto slash = text.find('/');
  auto ip = IpAddress::Parse(text.substr(0, slash));
  if (!ip) {
    return std::nullopt;
  }
  bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
  Network n;
  n.base_ = *ip;
  n.prefix_ = 128;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    int p = -1;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
    if (ec != std::errc() || ptr != digits.data() + digits.size() || p < 0 || p > (v4 ? 32 : 128)) {
      return std::nullopt;
    }
    n.prefix_ = v4 ? p + 96 : p;
  }
  return n;
}

bool Network::Contains(const IpAddress& ip) const {
  int bits = prefix_;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((ip.bytes()[i] & mask) != (base_.bytes()[i] & mask)) {
      return false;
    }
  }
  return true;
}

bool AnyContains(const std::vector<Network>& nets, std::string_view ip) {
  auto addr = IpAddress::Parse(ip);
  if (!addr) {
    return false;
  }
  for (const auto& n : nets) {
    if (n.Contains(*addr)) {
      return true;
    }
  }
  return false;
}

}  // namespace sluice
