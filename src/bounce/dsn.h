#pragma once
// Security: builds reports from remote replies (untrusted text is sanitised).
// Standards: RFC 3464 (delivery status notifications), RFC 6522 (multipart/report),
//            RFC 3461 §4.1-4.4 (NOTIFY, ORCPT, RET, ENVID), RFC 3834 (Auto-Submitted).

#include <chrono>
#include <string>
#include <vector>

#include "core/envelope.h"

namespace sluice::bounce {

struct FailedRecipient {
  std::string recipient;   // as in the envelope
  std::string orcpt;       // "addr-type;address", or ""
  std::string status;      // enhanced code, "5.1.1"
  std::string remote_mta;  // MX host, or ""
  std::string diagnostic;  // "550 5.1.1 user unknown" as the remote said it, or ""
  bool expired = false;    // gave up after max_age rather than a permanent reply
  std::chrono::system_clock::time_point last_attempt;
};

struct DsnInput {
  std::string reporting_mta;  // our hostname
  std::string message_id;     // for the report's own Message-ID
  Envelope original;          // its sender receives the report
  std::chrono::system_clock::time_point arrival;
  std::vector<FailedRecipient> failed;
  std::string original_message;  // headers and body as stored
  std::chrono::system_clock::time_point now;
};

// True if RFC 3461 asks for a failure report for this recipient of `env`:
// never for the null sender, never with NOTIFY=NEVER, and with NOTIFY present
// only when it includes FAILURE.
bool WantsFailureReport(const Envelope& env, const Recipient& r);

// The complete report message (headers and body, CRLF line ends). Returns the
// original headers only unless RET=FULL was asked for.
std::string BuildFailureReport(const DsnInput& in);

}  // namespace sluice::bounce
