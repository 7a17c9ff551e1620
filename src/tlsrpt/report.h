#pragma once
// Security: the report names only what the receiving domain's own servers
//           showed us (their names, addresses and policies) and our sending
//           addresses; it goes out without TLS being required (RFC 8460 §5.3,
//           RFC 8689 §5) so a broken receiver still hears about it.
// Standards: RFC 8460 §4 (the JSON report), §5.1 (gzip), §5.3 (by mail:
//            multipart/report; report-type="tlsrpt", the TLS-Report-Domain and
//            TLS-Report-Submitter headers, the Subject and file name).
//
// One domain's aggregate TLS report for a period: the JSON, compressed, and
// wrapped as the mail that carries it.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "tlsrpt/ledger.h"

namespace sluice::tlsrpt {

// Who reports (RFC 8460 §4.4).
struct Organization {
  std::string organization;  // organization-name
  std::string contact;       // contact-info (an address or URI)
  std::string submitter;     // our domain: TLS-Report-Submitter, report-id, file name
};

// Unique per submitter, domain and period; the same on every retry.
std::string ReportId(const Organization& who, const Period& period, std::string_view domain);

// The report (RFC 8460 §4.4), one "policies" entry per policy applied.
std::string ReportJson(const Organization& who, const Period& period, std::string_view domain,
                       const DomainCounts& counts);

// gzip (RFC 1952) of `data`.
std::string Gzip(std::string_view data);

// "submitter!domain!begin!end.json.gz" (RFC 8460 §5.3).
std::string FileName(const Organization& who, const Period& period, std::string_view domain);

// The report as a message (RFC 8460 §5.3), ready for the queue.
struct ReportMail {
  std::string from;             // header From address
  std::vector<std::string> to;  // the rua mailto addresses
  std::chrono::system_clock::time_point date;
};
std::string BuildMail(const Organization& who, const Period& period, std::string_view domain,
                      const ReportMail& mail, std::string_view gzipped);

// The address of a "mailto:" URI (RFC 6068: up to '?', %XX decoded); empty
// if there is none.
std::string MailtoAddress(std::string_view uri);

}  // namespace sluice::tlsrpt
