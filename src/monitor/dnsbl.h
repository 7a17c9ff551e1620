#pragma once
// Security: the answers come from lists run by third parties through our
//           resolver; only 127.0.0.0/8 answers count (RFC 5782 §2.1), so a
//           resolver that rewrites NXDOMAIN into an address lists nothing.
// Standards: RFC 5782 (DNS blacklists and whitelists: query names, A and TXT
//            answers, IPv6 nibble order).
//
// The blocklists (DNSBLs) Sluice knows, the names to ask them, and what
// their answers mean. No I/O.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::monitor {

enum class ListKind { kIp, kDomain };
const char* ToString(ListKind k);  // "ip", "domain"

struct Blocklist {
  std::string name;  // "spamhaus-zen"
  std::string zone;  // "zen.spamhaus.org"
  ListKind kind = ListKind::kIp;
  // What each answer means ("127.0.0.2" -> "SBL: ..."); a list whose codes
  // are bits of the last octet sets `bits` instead (SURBL, URIBL).
  std::map<std::string, std::string> codes;
  std::map<std::uint8_t, std::string> bits;
  // Answers that are the list refusing the query, not a listing.
  std::map<std::string, std::string> errors;
  // The list's own rules: not asked more often than this, and not about
  // addresses outside the public Internet (loopback, private ranges).
  std::chrono::seconds min_interval{0};
  bool public_addresses_only = false;
  bool take_out_of_pools = false;  // a listed source leaves its pools
};

// The built-in lists, by name: spamhaus-zen, spamcop, barracuda (IP);
// spamhaus-dbl, surbl, uribl (domain).
const std::vector<Blocklist>& BuiltinBlocklists();
const Blocklist* FindBuiltin(std::string_view name);

// The name to look up for `subject` (an IPv4 or IPv6 address, or a domain)
// in `list`; nullopt if the subject is not of the list's kind.
std::optional<std::string> QueryName(const Blocklist& list, const std::string& subject);

struct Verdict {
  enum class State { kClear, kListed, kError } state = State::kClear;
  std::vector<std::string> codes;  // the 127.x answers
  std::string meaning;             // decoded, "; "-joined; for an error, what went wrong
};
// The A answers for a query name: none clear; 127/8 codes listed or the
// list's error codes; anything else an error.
Verdict Decode(const Blocklist& list, const std::vector<std::string>& answers);

// Whether an address is one a public list may be asked about (not
// loopback, private, link-local, documentation or otherwise reserved).
bool IsPublicAddress(const std::string& ip);

}  // namespace sluice::monitor
