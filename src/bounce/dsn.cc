#include "bounce/dsn.h"

#include <fmt/format.h>

#include "core/time_format.h"

namespace sluice::bounce {
namespace {

// Remote text goes into a header field: printable ASCII only, bounded.
std::string Clean(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 900)) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 32 && u < 127 ? c : ' ');
  }
  return out;
}

std::string_view HeadersOf(std::string_view msg) {
  auto end = msg.find("\r\n\r\n");
  return end == std::string_view::npos ? msg : msg.substr(0, end + 2);
}

std::string AddressType(const std::string& orcpt) {
  return orcpt.substr(0, orcpt.find(';'));
}

}  // namespace

bool WantsReport(const Envelope& env, const Recipient& r, ReportAction action) {
  if (env.sender.IsNull() || (r.notify & kNotifyNever) != 0) {
    return false;
  }
  switch (action) {
    case ReportAction::kFailed:
      return r.notify == 0 || (r.notify & kNotifyFailure) != 0;
    case ReportAction::kDelayed:
      return (r.notify & kNotifyDelay) != 0;
    case ReportAction::kRelayed:
      return (r.notify & kNotifySuccess) != 0;
  }
  return false;
}

namespace {

bool ReturnsFullMessage(const DsnInput& in) {
  return in.action == ReportAction::kFailed && in.original.ret == DsnRet::kFull;
}

struct Wording {
  const char* subject;
  const char* summary;
  const char* action;
};

Wording WordingFor(ReportAction a) {
  switch (a) {
    case ReportAction::kDelayed:
      return {"Delayed Mail (still being retried)",
              "Your message could not be delivered yet to one or more recipients.\r\n"
              "It will be retried until it expires; no action is needed now.",
              "delayed"};
    case ReportAction::kRelayed:
      return {"Successful Mail Delivery Report",
              "Your message was delivered to a mail server that does not send\r\n"
              "delivery notifications itself; no further notice will follow.",
              "relayed"};
    case ReportAction::kFailed:
      break;
  }
  return {"Undelivered Mail Returned to Sender",
          "Your message could not be delivered to one or more recipients.", "failed"};
}

}  // namespace

bool ReportIs8Bit(const DsnInput& in) {
  if (!ReturnsFullMessage(in)) {
    return false;  // headers are 7-bit, or SMTPUTF8 which the original needed too
  }
  for (char c : in.original_message) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return true;
    }
  }
  return false;
}

std::string BuildReport(const DsnInput& in) {
  const Wording words = WordingFor(in.action);
  const std::string boundary = fmt::format("{}/{}", in.message_id, in.reporting_mta);
  const std::string date = Rfc5322Date(in.now);
  std::string m;
  m += fmt::format("From: Mail Delivery System <MAILER-DAEMON@{}>\r\n", in.reporting_mta);
  m += fmt::format("To: <{}>\r\n", in.original.sender.ToString());
  m += fmt::format("Subject: {}\r\n", words.subject);
  m += fmt::format("Date: {}\r\n", date);
  m += fmt::format("Message-ID: <{}@{}>\r\n", in.message_id, in.reporting_mta);
  m += "Auto-Submitted: auto-replied\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += fmt::format(
      "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{}\"\r\n",
      boundary);
  if (ReportIs8Bit(in)) {
    m += "Content-Transfer-Encoding: 8bit\r\n";
  }
  m += "\r\nThis is a MIME-encapsulated message.\r\n\r\n";

  // Part 1: for people.
  m += fmt::format("--{}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", boundary);
  m += fmt::format("This is the mail system at host {}.\r\n\r\n", in.reporting_mta);
  m += fmt::format("{}\r\n\r\n", words.summary);
  for (const auto& f : in.recipients) {
    std::string what = Clean(f.diagnostic);
    if (f.expired) {
      what = "delivery time expired; last error: " + what;
    } else if (in.action == ReportAction::kRelayed) {
      what = "delivered to " + Clean(f.remote_mta) + ": " + what;
    }
    m += fmt::format("<{}>: {}\r\n", Clean(f.recipient), what);
  }
  m += "\r\n";

  // Part 2: for machines (RFC 3464 §2.2, §2.3).
  m += fmt::format("--{}\r\nContent-Type: message/delivery-status\r\n\r\n", boundary);
  m += fmt::format("Reporting-MTA: dns; {}\r\n", in.reporting_mta);
  if (!in.original.envid.empty()) {
    m += fmt::format("Original-Envelope-Id: {}\r\n", Clean(in.original.envid));
  }
  m += fmt::format("Arrival-Date: {}\r\n", Rfc5322Date(in.arrival));
  for (const auto& f : in.recipients) {
    m += "\r\n";
    m += fmt::format("Final-Recipient: rfc822; {}\r\n", Clean(f.recipient));
    if (!f.orcpt.empty()) {
      m += fmt::format("Original-Recipient: {}; {}\r\n", Clean(AddressType(f.orcpt)),
                       Clean(f.orcpt.substr(f.orcpt.find(';') + 1)));
    }
    m += fmt::format("Action: {}\r\n", words.action);
    m += fmt::format("Status: {}\r\n", f.status);
    if (!f.remote_mta.empty()) {
      m += fmt::format("Remote-MTA: dns; {}\r\n", Clean(f.remote_mta));
    }
    if (!f.diagnostic.empty()) {
      m += fmt::format("Diagnostic-Code: smtp; {}\r\n", Clean(f.diagnostic));
    }
    m += fmt::format("Last-Attempt-Date: {}\r\n", Rfc5322Date(f.last_attempt));
    if (in.action == ReportAction::kDelayed) {
      m += fmt::format("Will-Retry-Until: {}\r\n", Rfc5322Date(f.retry_until));
    }
  }
  m += "\r\n";

  // Part 3: the original (RFC 3461 §4.3: headers unless RET=FULL).
  if (ReturnsFullMessage(in)) {
    m += fmt::format("--{}\r\nContent-Type: message/rfc822\r\n\r\n", boundary);
    m += in.original_message;
    if (!in.original_message.empty() &&
        in.original_message.substr(in.original_message.size() - 2) != "\r\n") {
      m += "\r\n";
    }
  } else {
    m += fmt::format("--{}\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary);
    m += HeadersOf(in.original_message);
  }
  m += fmt::format("\r\n--{}--\r\n", boundary);
  return m;
}

}  // namespace sluice::bounce
