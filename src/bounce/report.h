#pragma once
// Security: parses mail anyone can send to a bounce or feedback address;
//           every part is bounded by the message it is in, nothing is
//           decoded beyond what the report fields need, and a message that
//           is not understood is "unknown", never an error that bounces.
// Standards: RFC 3462/6522 (multipart/report), RFC 3464 (delivery status
//            notifications), RFC 6533 (message/global-delivery-status),
//            RFC 5965 (ARF feedback reports), RFC 3834 (auto-replies),
//            RFC 2045/2046 (MIME).
//
// What an inbound report says: a delivery status notification (per
// recipient: final and original recipient, action, status, diagnostic), a
// feedback (complaint) report, an auto-reply, or nothing we know.

#include <string>
#include <string_view>
#include <vector>

namespace sluice::bounce {

enum class ReportKind { kUnknown, kDsn, kFeedback, kAutoReply };
const char* ToString(ReportKind k);

struct ReportedStatus {
  std::string final_recipient;     // the address, without "rfc822;"
  std::string original_recipient;  // "" if not given
  std::string action;              // failed, delayed, delivered, relayed, expanded (lower case)
  std::string status;              // "5.1.1"
  std::string diagnostic;          // "smtp; 550 ..." as given, unfolded
  std::string remote_mta;
};

struct ParsedReport {
  ReportKind kind = ReportKind::kUnknown;
  // A DSN read from free text (a non-standard bounce), not delivery-status fields.
  bool from_text = false;
  std::string reporting_mta;
  std::string envelope_id;  // Original-Envelope-Id
  std::vector<ReportedStatus> recipients;
  std::string original_message_id;  // from the returned message or its headers
  std::string original_from;        // its From field
  std::string original_to;          // its To field
  // Feedback reports (RFC 5965 §3.1).
  std::string feedback_type;  // abuse, fraud, virus, other, not-spam, auth-failure
  std::string user_agent;
  std::string original_rcpt_to;
  std::string original_mail_from;
};

ParsedReport ParseReport(std::string_view message);

}  // namespace sluice::bounce
