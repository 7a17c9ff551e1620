// Inbound reports: RFC 3464 DSNs, RFC 5965 feedback reports, RFC 3834 auto-replies.
#include "bounce/report.h"

#include <gtest/gtest.h>

namespace sluice::bounce {
namespace {

// RFC 3464 §2: per-message fields, then a group per recipient; RFC 6522 container.
TEST(Report, AStandardDsnGivesEachRecipientAndTheOriginalMessage) {
  const char* dsn =
      "From: MAILER-DAEMON@mx.example\r\n"
      "Auto-Submitted: auto-replied\r\n"
      "Content-Type: multipart/report; report-type=delivery-status;\r\n"
      "  boundary=\"b1\"\r\n"
      "\r\n"
      "--b1\r\nContent-Type: text/plain\r\n\r\nGone.\r\n"
      "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
      "Reporting-MTA: dns; mx.example\r\nOriginal-Envelope-Id: env-9\r\n\r\n"
      "Final-Recipient: rfc822; a@dest.example\r\nOriginal-Recipient: rfc822;<A@Dest.example>\r\n"
      "Action: Failed\r\nStatus: 5.1.1 (user unknown)\r\n"
      "Diagnostic-Code: smtp; 550 5.1.1 <a@dest.example>:\r\n  User unknown\r\n\r\n"
      "Final-Recipient: rfc822; b@dest.example\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n"
      "--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
      "Message-ID: <m1@src.example>\r\nFrom: s@src.example\r\nTo: a@dest.example\r\n\r\n"
      "--b1--\r\n";
  auto r = ParseReport(dsn);
  EXPECT_EQ(r.kind, ReportKind::kDsn);
  EXPECT_EQ(r.reporting_mta, "mx.example");
  EXPECT_EQ(r.envelope_id, "env-9");
  ASSERT_EQ(r.recipients.size(), 2u);
  EXPECT_EQ(r.recipients[0].final_recipient, "a@dest.example");
  EXPECT_EQ(r.recipients[0].original_recipient, "A@Dest.example");
  EXPECT_EQ(r.recipients[0].action, "failed");
  EXPECT_EQ(r.recipients[0].status, "5.1.1");
  EXPECT_EQ(r.recipients[0].diagnostic, "smtp; 550 5.1.1 <a@dest.example>: User unknown");
  EXPECT_EQ(r.recipients[1].action, "delayed");
  EXPECT_EQ(r.original_message_id, "<m1@src.example>");
  EXPECT_EQ(r.original_from, "s@src.example");
}

TEST(Report, WithoutAStatusFieldTheDiagnosticsCodeIsTaken) {
  auto r = ParseReport(
      "Content-Type: multipart/report; boundary=x\n\n--x\n"
      "Content-Type: message/delivery-status\nContent-Transfer-Encoding: quoted-printable\n\n"
      "Final-Recipient: <u@d.example>\nAction: failed\nDiagnostic-Code: SMTP; 550 5.2.2 full\n"
      "\n--x--\n");
  ASSERT_EQ(r.recipients.size(), 1u);
  EXPECT_EQ(r.recipients[0].final_recipient, "u@d.example");
  EXPECT_EQ(r.recipients[0].status, "5.2.2");
}

TEST(Report, AReportThatLostItsMimeStructureStillCounts) {
  auto r = ParseReport(
      "Subject: Returned mail\nContent-Type: multipart/report; boundary=\"lost\"\n\n"
      "The mail system\n\nReporting-MTA: dns; mx.example\n\n"
      "Final-Recipient: RFC822; b@dest.example\nAction: failed\nStatus: 5.0.0\n");
  EXPECT_EQ(r.kind, ReportKind::kDsn);
  ASSERT_EQ(r.recipients.size(), 1u);
  EXPECT_EQ(r.recipients[0].final_recipient, "b@dest.example");
}

// No delivery-status part: a qmail-style notice in words still names the
// failed address and the reply; its own parties are not taken for it.
TEST(Report, AFreeTextNoticeNamesItsFailedAddress) {
  auto r = ParseReport(
      "From: MAILER-DAEMON@mx.example\nTo: sender@src.example\nSubject: failure notice\n\n"
      "Hi. This is the qmail-send program at mx.example.\n"
      "I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
      "<'gone@dest.example'>:\n192.0.2.9 does not like recipient.\n"
      "Remote host said: 550 5.1.1 <gone@dest.example>... User unknown\n\n"
      "--- Below this line is a copy of the message.\n\n"
      "Return-Path: <sender@src.example>\nTo: other@dest.example\n");
  EXPECT_EQ(r.kind, ReportKind::kDsn);
  EXPECT_TRUE(r.from_text);
  ASSERT_EQ(r.recipients.size(), 1u);
  EXPECT_EQ(r.recipients[0].final_recipient, "gone@dest.example");
  EXPECT_EQ(r.recipients[0].status, "5.1.1");
  // The same words from someone who is no mail system are no bounce.
  EXPECT_EQ(ParseReport("From: friend@src.example\nSubject: hi\n\nwrite to x@dest.example\n").kind,
            ReportKind::kUnknown);
}

// RFC 5965 §3.1.
TEST(Report, AFeedbackReportGivesItsTypeAndTheOriginal) {
  auto r = ParseReport(
      "Content-Type: multipart/report; report-type=feedback-report; boundary=x\n\n"
      "--x\nContent-Type: text/plain\n\nabuse report\n"
      "--x\nContent-Type: message/feedback-report\n\nFeedback-Type: Abuse\n"
      "User-Agent: Gen/1.0\nVersion: 1\nOriginal-Rcpt-To: <a@dest.example>\n"
      "Original-Mail-From: <b-1@bounce.example>\n\n"
      "--x\nContent-Type: message/rfc822\n\nMessage-ID: <m2@src.example>\n\nbody\n--x--\n");
  EXPECT_EQ(r.kind, ReportKind::kFeedback);
  EXPECT_EQ(r.feedback_type, "abuse");
  EXPECT_EQ(r.original_rcpt_to, "a@dest.example");
  EXPECT_EQ(r.original_mail_from, "b-1@bounce.example");
  EXPECT_EQ(r.original_message_id, "<m2@src.example>");
}

// RFC 3834 §5: Auto-Submitted marks an automatic reply; it is no bounce.
TEST(Report, AnAutoReplyIsNoBounce) {
  EXPECT_EQ(ParseReport("Subject: Out of Office\nAuto-Submitted: auto-replied\n\nAway.\n").kind,
            ReportKind::kAutoReply);
  EXPECT_EQ(ParseReport("Subject: hello\n\nJust a reply.\n").kind, ReportKind::kUnknown);
}

}  // namespace
}  // namespace sluice::bounce
