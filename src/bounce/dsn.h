#pragma once
// Security: builds reports from remote replies (untrusted text is sanitised).
// Standards: RFC 3464 (delivery status notifications), RFC 6522 (multipart/report),
//            RFC 3461 §4.1-4.4 (NOTIFY, ORCPT, RET, ENVID), RFC 3834 (Auto-Submitted).

#include <chrono>
#include <string>
#include <vector>

#include "core/envelope.h"

namespace sluice::bounce {

// RFC 3464 §2.3.3 actions this MTA reports. One report carries one kind.
enum class ReportAction {
  kFailed,   // bounced or expired
  kDelayed,  // still trying (NOTIFY=DELAY)
  kRelayed,  // delivered to a server without DSN support (NOTIFY=SUCCESS)
};

struct ReportedRecipient {
  std::string recipient;   // as in the envelope
  std::string orcpt;       // "addr-type;address", or ""
  std::string status;      // enhanced code, "5.1.1"
  std::string remote_mta;  // MX host, or ""
  std::string diagnostic;  // "550 5.1.1 user unknown" as the remote said it, or ""
  bool expired = false;    // failed: gave up after max_age rather than a permanent reply
  std::chrono::system_clock::time_point last_attempt;
  std::chrono::system_clock::time_point retry_until;  // delayed: when it will expire
};

struct DsnInput {
  ReportAction action = ReportAction::kFailed;
  std::string reporting_mta;  // our hostname
  std::string message_id;     // for the report's own Message-ID
  Envelope original;          // its sender receives the report
  std::chrono::system_clock::time_point arrival;
  std::vector<ReportedRecipient> recipients;
  std::string original_message;  // headers and body as stored
  std::chrono::system_clock::time_point now;
};

// True if RFC 3461 §4.1 asks for a report of `action` for this recipient of
// `env`. Never for the null sender or NOTIFY=NEVER. Without NOTIFY, failures
// are reported and delays and relays are not; with NOTIFY, exactly what it lists.
bool WantsReport(const Envelope& env, const Recipient& r, ReportAction action);

// The complete report message (headers and body, CRLF line ends). It carries
// the original headers only, or the whole original for a failure report when
// RET=FULL was asked for (RFC 3461 §4.3).
std::string BuildReport(const DsnInput& in);

// True if the report built from `in` needs 8BITMIME (it returns an 8-bit original).
bool ReportIs8Bit(const DsnInput& in);

}  // namespace sluice::bounce
