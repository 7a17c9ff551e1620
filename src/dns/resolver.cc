#include "dns/resolver.h"

#include <algorithm>

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

bool ParseMxRdata(std::string_view rdata, MxHost& out) {
  if (rdata.size() < 3) {
    return false;
  }
  out.preference = static_cast<std::uint16_t>((static_cast<unsigned char>(rdata[0]) << 8) |
                                              static_cast<unsigned char>(rdata[1]));
  out.host.clear();
  std::size_t i = 2;
  while (i < rdata.size()) {
    auto len = static_cast<unsigned char>(rdata[i++]);
    if (len == 0) {
      if (out.host.empty()) {
        out.host = ".";
      }
      return i == rdata.size();
    }
    if (len > 63 || i + len > rdata.size()) {
      return false;  // compression pointers never appear in decoded rdata
    }
    if (!out.host.empty()) {
      out.host += '.';
    }
    for (std::size_t j = 0; j < len; ++j) {
      char c = rdata[i + j];
      out.host += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    i += len;
  }
  return false;
}

bool IsNullMx(const std::vector<MxHost>& hosts) {
  return hosts.size() == 1 && hosts[0].preference == 0 && hosts[0].host == ".";
}

}  // namespace sluice::dns
