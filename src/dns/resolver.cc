#include "dns/resolver.h"

#include <algorithm>

#include <arpa/inet.h>
#include <fmt/format.h>

namespace sluice::dns {

const char* ToString(DnsError e) {
  switch (e) {
    case DnsError::kNxDomain:
      return "domain does not exist";
    case DnsError::kNoMailHost:
      return "domain has no mail exchanger and no address";
    case DnsError::kNullMx:
      return "domain does not accept mail (null MX)";
    case DnsError::kServFail:
      return "DNS server failure";
    case DnsError::kTimeout:
      return "DNS timeout";
    case DnsError::kBogus:
      return "DNSSEC validation failed";
    case DnsError::kBadName:
      return "not a domain name";
  }
  return "DNS error";
}

bool IsPermanent(DnsError e) {
  return e == DnsError::kNxDomain || e == DnsError::kNoMailHost || e == DnsError::kNullMx ||
         e == DnsError::kBadName;
}

boost::asio::awaitable<Result<TlsaSet, DnsError>> Resolver::ResolveTlsa(std::string /*host*/,
                                                                        std::uint16_t /*port*/) {
  co_return TlsaSet{};
}

bool ParseTlsaRdata(std::string_view rdata, TlsaRecord& out) {
  if (rdata.size() < 3) {
    return false;
  }
  out.usage = static_cast<std::uint8_t>(rdata[0]);
  out.selector = static_cast<std::uint8_t>(rdata[1]);
  out.mtype = static_cast<std::uint8_t>(rdata[2]);
  out.data.assign(rdata.substr(3));
  return true;
}

std::string MxSet::Site() const {
  std::vector<std::string> names;
  names.reserve(hosts.size());
  for (const auto& h : hosts) {
    names.push_back(h.host);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) {
      out += ',';
    }
    out += n;
  }
  return out;
}

void OrderMx(std::vector<MxHost>& hosts, std::mt19937& rng) {
  std::shuffle(hosts.begin(), hosts.end(), rng);
  std::stable_sort(hosts.begin(), hosts.end(),
                   [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
}

bool ParseNameRdata(std::string_view rdata, std::string& out) {
  out.clear();
  std::size_t i = 0;
  while (i < rdata.size()) {
    auto len = static_cast<unsigned char>(rdata[i++]);
    if (len == 0) {
      if (out.empty()) {
        out = ".";
      }
      return i == rdata.size();
    }
    if (len > 63 || i + len > rdata.size()) {
      return false;  // compression pointers never appear in decoded rdata
    }
    if (!out.empty()) {
      out += '.';
    }
    for (std::size_t j = 0; j < len; ++j) {
      char c = rdata[i + j];
      out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    i += len;
  }
  return false;
}

bool ParseMxRdata(std::string_view rdata, MxHost& out) {
  if (rdata.size() < 3) {
    return false;
  }
  out.preference = static_cast<std::uint16_t>((static_cast<unsigned char>(rdata[0]) << 8) |
                                              static_cast<unsigned char>(rdata[1]));
  return ParseNameRdata(rdata.substr(2), out.host);
}

bool ParseTxtRdata(std::string_view rdata, std::string& out) {
  out.clear();
  std::size_t i = 0;
  while (i < rdata.size()) {
    auto len = static_cast<unsigned char>(rdata[i++]);
    if (i + len > rdata.size()) {
      return false;
    }
    out.append(rdata.substr(i, len));
    i += len;
  }
  return true;
}

std::optional<std::string> ReverseName(const std::string& ip) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) {
    return fmt::format("{}.{}.{}.{}.in-addr.arpa", buf[3], buf[2], buf[1], buf[0]);
  }
  if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (int i = 15; i >= 0; --i) {
      out += kHex[buf[i] & 0xf];
      out += '.';
      out += kHex[buf[i] >> 4];
      out += '.';
    }
    return out + "ip6.arpa";
  }
  return std::nullopt;
}

bool IsNullMx(const std::vector<MxHost>& hosts) {
  return hosts.size() == 1 && hosts[0].preference == 0 && hosts[0].host == ".";
}

}  // namespace sluice::dns
