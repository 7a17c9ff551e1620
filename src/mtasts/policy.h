#pragma once
// Security: parses text fetched from servers the recipient domain names
//           (bounded; never trusted beyond its own fields).
// Standards: RFC 8461 §3.1 (the _mta-sts TXT record), §3.2 (the policy
//            file), §4.1 (MX host matching).
//
// MTA-STS policies as values: the TXT record that announces one, the policy
// file, and whether an MX host name is one the policy names.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sluice::mtasts {

enum class Mode : std::uint8_t { kNone, kTesting, kEnforce };
const char* ToString(Mode m);

// RFC 8461 §3.1: "v=STSv1; id=...;" (the id: 1 to 32 letters and digits).
struct Record {
  std::string id;
};
// One TXT record's text; an error names what is wrong (not STSv1, no id...).
Result<Record, std::string> ParseRecord(std::string_view txt);
// RFC 8461 §3.1: of a name's TXT records, those starting "v=STSv1" count;
// exactly one must, else there is no policy (nullopt; "" for none at all).
Result<Record, std::string> PickRecord(const std::vector<std::string>& txts);

struct Policy {
  Mode mode = Mode::kNone;
  std::vector<std::string> mx;  // patterns, lower case: "mx.example.com", "*.example.net"
  std::uint32_t max_age = 0;    // seconds (RFC 8461 §3.2: at most 31557600)
  std::string id;               // the TXT record's id it was fetched for
  std::int64_t fetched_us = 0;  // wall clock, µs
  std::int64_t expires_us = 0;  // fetched + max_age

  // RFC 8461 §4.1: the host is named by a pattern ("*." matches one left-most label).
  bool Matches(std::string_view mx_host) const;
};

// The policy file (RFC 8461 §3.2): "key: value" lines ending CRLF or LF.
// version (STSv1), mode and max_age are required; mx too unless mode is
// none. Unknown keys are ignored; of repeated keys other than mx, the first
// counts. At most kMaxPolicyBytes.
inline constexpr std::size_t kMaxPolicyBytes = 64 * 1024;
Result<Policy, std::string> ParsePolicy(std::string_view text);

// Does `pattern` (an mx line) match `host`? Both lower case, no trailing dot.
bool PatternMatches(std::string_view pattern, std::string_view host);

}  // namespace sluice::mtasts
