#pragma once
// Security: evaluates SPF records from public DNS (untrusted): every lookup is
//           counted and bounded (RFC 7208 §4.6.4), recursion is bounded, and
//           macro expansion is bounded in length.
// Standards: RFC 7208 (SPF): §4 check_host(), §4.6 record syntax and evaluation,
//            §5 mechanisms, §6 modifiers (redirect), §7 macros, §4.6.4 the
//            10-lookup and 2-void-lookup limits.

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "dns/resolver.h"

namespace sluice::doctor {

enum class SpfResult { kNone, kNeutral, kPass, kFail, kSoftFail, kTempError, kPermError };
const char* ToString(SpfResult r);

struct SpfVerdict {
  SpfResult result = SpfResult::kNone;
  std::string reason;   // what decided it (the matching term, or the error)
  int dns_lookups = 0;  // terms that cost a lookup, as counted by §4.6.4
};

// The one SPF record among a domain's TXT strings: "" if none, an error if
// several (§4.5: permerror).
struct SpfRecordPick {
  std::string record;
  bool multiple = false;
};
SpfRecordPick PickSpfRecord(const std::vector<std::string>& txt);

// check_host(ip, domain, sender) of §4.
boost::asio::awaitable<SpfVerdict> CheckHost(dns::Resolver& resolver, std::string ip,
                                             std::string domain, std::string sender);

// §4.6.4, for the operator: how many lookup terms the record and everything it
// includes or redirects to could use, counted without stopping at a match.
// -1 if a record in the tree could not be fetched or parsed (see `why`).
boost::asio::awaitable<int> CountLookups(dns::Resolver& resolver, std::string domain,
                                         std::string* why);

// §7: expands the macros of a domain-spec; false on a syntax error. Exposed for tests.
struct MacroContext {
  std::string sender;  // local@domain
  std::string domain;  // the current domain
  std::string ip;      // as text
  std::string helo;
};
bool ExpandMacros(std::string_view spec, const MacroContext& ctx, std::string& out);

}  // namespace sluice::doctor
