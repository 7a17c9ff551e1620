#pragma once
// Security: parses XML anyone may mail to our rua address: bounded in size,
//           depth, records and field length; a DOCTYPE (and so any entity,
//           internal or external) is refused outright, so neither billion
//           laughs nor XXE can happen; nothing is fetched.
// Standards: RFC 7489 §7.2 and Appendix C (DMARC aggregate reports: the
//            feedback document, its metadata, policy, records and auth
//            results).
//
// A DMARC aggregate report, parsed.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sluice::dmarc {

struct AuthResult {
  std::string domain;
  std::string selector;  // DKIM only
  std::string scope;     // SPF only: "mfrom", "helo"
  std::string result;    // "pass", "fail", "softfail", "neutral", "none", ...
};

struct Row {
  std::string source_ip;  // canonical spelling
  std::uint64_t count = 0;
  std::string disposition;  // "none", "quarantine", "reject"
  std::string dkim;         // the policy's evaluation, aligned: "pass", "fail"
  std::string spf;
  std::vector<std::string> reasons;  // policy override types ("forwarded", ...)
  std::string header_from;
  std::string envelope_from;
  std::vector<AuthResult> dkim_results;
  std::vector<AuthResult> spf_results;
  // RFC 7489 §6.6.2: DMARC passes when an aligned identifier passes.
  bool Passed() const { return dkim == "pass" || spf == "pass"; }
};

struct AggregateReport {
  std::string org_name;
  std::string email;
  std::string report_id;
  std::int64_t begin = 0;  // seconds since the epoch
  std::int64_t end = 0;
  // The policy published, as the reporter saw it.
  std::string domain;
  std::string adkim = "r";
  std::string aspf = "r";
  std::string p;
  std::string sp;
  int pct = 100;
  std::vector<Row> rows;
};

struct ParseLimits {
  std::size_t max_bytes = 32u << 20;  // of XML
  std::size_t max_depth = 16;
  std::size_t max_records = 100000;
  std::size_t max_field = 1024;  // characters of one element's text
};

// The report in `xml`, or why it is not one.
Result<AggregateReport, std::string> ParseAggregate(std::string_view xml, ParseLimits limits = {});

}  // namespace sluice::dmarc
