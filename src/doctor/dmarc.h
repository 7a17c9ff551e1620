#pragma once
// Security: parses DMARC records from public DNS (untrusted), bounded by the input.
// Standards: RFC 7489 §6.3 (record syntax), §6.4 (tags and defaults), §6.6.3
//            (policy discovery: the organizational domain's record applies to
//            subdomains without one).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::doctor {

struct DmarcRecord {
  std::string policy;            // p=: none, quarantine, reject
  std::string subdomain_policy;  // sp=, defaults to p
  int pct = 100;
  std::vector<std::string> rua;  // aggregate report addresses
  std::string adkim = "r";       // alignment modes
  std::string aspf = "r";
};

// Parses one TXT string; nullopt with `why` if it is not a valid DMARC record.
std::optional<DmarcRecord> ParseDmarc(std::string_view text, std::string* why);

// The DMARC records among TXT strings (those starting "v=DMARC1").
std::vector<std::string> DmarcCandidates(const std::vector<std::string>& txt);

}  // namespace sluice::doctor
