// RFC 3464 report structure; RFC 3461 §4.1 NOTIFY and §4.3 RET.
#include "bounce/dsn.h"

#include <gtest/gtest.h>

namespace sluice::bounce {
namespace {

DsnInput Sample() {
  DsnInput in;
  in.reporting_mta = "mx.test";
  in.message_id = "abc.dsn";
  in.original.sender = ParseMailbox("sender@example.org").value();
  in.original.envid = "env-42";
  in.arrival = std::chrono::system_clock::time_point(std::chrono::seconds(1795618800));
  in.now = in.arrival + std::chrono::minutes(1);
  ReportedRecipient f;
  f.recipient = "nobody@dest.example";
  f.orcpt = "rfc822;Nobody@dest.example";
  f.status = "5.1.1";
  f.remote_mta = "mx1.dest.example";
  f.diagnostic = "550 5.1.1 no such user\x01";
  f.last_attempt = in.now;
  in.recipients.push_back(f);
  in.original_message = "Subject: hi\r\nFrom: sender@example.org\r\n\r\nsecret body\r\n";
  return in;
}

TEST(Dsn, Rfc3464Fields) {
  std::string m = BuildReport(Sample());
  EXPECT_NE(m.find("To: <sender@example.org>\r\n"), std::string::npos);
  EXPECT_NE(m.find("Auto-Submitted: auto-replied\r\n"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: multipart/report; report-type=delivery-status;"),
            std::string::npos);
  EXPECT_NE(m.find("Reporting-MTA: dns; mx.test\r\n"), std::string::npos);
  EXPECT_NE(m.find("Original-Envelope-Id: env-42\r\n"), std::string::npos);
  EXPECT_NE(m.find("Final-Recipient: rfc822; nobody@dest.example\r\n"), std::string::npos);
  EXPECT_NE(m.find("Original-Recipient: rfc822; Nobody@dest.example\r\n"), std::string::npos);
  EXPECT_NE(m.find("Action: failed\r\nStatus: 5.1.1\r\n"), std::string::npos);
  EXPECT_NE(m.find("Remote-MTA: dns; mx1.dest.example\r\n"), std::string::npos);
  EXPECT_NE(m.find("Diagnostic-Code: smtp; 550 5.1.1 no such user \r\n"), std::string::npos);
  EXPECT_EQ(m.find('\x01'), std::string::npos);
}

TEST(Dsn, Rfc3461Section4_3_HeadersUnlessRetFull) {
  auto in = Sample();
  std::string hdrs = BuildReport(in);
  EXPECT_NE(hdrs.find("Content-Type: text/rfc822-headers"), std::string::npos);
  EXPECT_EQ(hdrs.find("secret body"), std::string::npos);
  in.original.ret = DsnRet::kFull;
  std::string full = BuildReport(in);
  EXPECT_NE(full.find("Content-Type: message/rfc822"), std::string::npos);
  EXPECT_NE(full.find("secret body"), std::string::npos);
}

TEST(Dsn, Rfc3461Section4_1_Notify) {
  Envelope env;
  env.sender = ParseMailbox("s@example.org").value();
  Recipient r;
  // Absent NOTIFY: failures only.
  EXPECT_TRUE(WantsReport(env, r, ReportAction::kFailed));
  EXPECT_FALSE(WantsReport(env, r, ReportAction::kDelayed));
  EXPECT_FALSE(WantsReport(env, r, ReportAction::kRelayed));
  r.notify = kNotifyNever;
  EXPECT_FALSE(WantsReport(env, r, ReportAction::kFailed));
  r.notify = kNotifySuccess | kNotifyDelay;
  EXPECT_FALSE(WantsReport(env, r, ReportAction::kFailed));
  EXPECT_TRUE(WantsReport(env, r, ReportAction::kDelayed));
  EXPECT_TRUE(WantsReport(env, r, ReportAction::kRelayed));
  r.notify = kNotifyFailure;
  EXPECT_TRUE(WantsReport(env, r, ReportAction::kFailed));
  EXPECT_FALSE(WantsReport(env, r, ReportAction::kDelayed));
  Envelope null_sender;
  r.notify = kNotifyFailure | kNotifyDelay | kNotifySuccess;
  EXPECT_FALSE(WantsReport(null_sender, r, ReportAction::kFailed));
  EXPECT_FALSE(WantsReport(null_sender, r, ReportAction::kDelayed));
}

// RFC 3464 §2.3.3 action "delayed" and §3.2.6 Will-Retry-Until; RET does not
// apply to delay reports (RFC 3461 §4.3 speaks of failed DSNs).
TEST(Dsn, Rfc3464DelayedReport) {
  auto in = Sample();
  in.action = ReportAction::kDelayed;
  in.original.ret = DsnRet::kFull;
  in.recipients[0].status = "4.4.1";
  in.recipients[0].retry_until = in.arrival + std::chrono::hours(24 * 5);
  std::string m = BuildReport(in);
  EXPECT_NE(m.find("Subject: Delayed Mail"), std::string::npos);
  EXPECT_NE(m.find("Action: delayed\r\nStatus: 4.4.1\r\n"), std::string::npos);
  EXPECT_NE(m.find("Will-Retry-Until: "), std::string::npos);
  EXPECT_EQ(m.find("secret body"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: text/rfc822-headers"), std::string::npos);
}

TEST(Dsn, Rfc3464RelayedReport) {
  auto in = Sample();
  in.action = ReportAction::kRelayed;
  in.recipients[0].status = "2.0.0";
  in.recipients[0].diagnostic = "250 2.0.0 queued";
  std::string m = BuildReport(in);
  EXPECT_NE(m.find("Action: relayed\r\nStatus: 2.0.0\r\n"), std::string::npos);
  EXPECT_EQ(m.find("Will-Retry-Until"), std::string::npos);
}

// RFC 6152: a returned 8-bit original makes the report an 8-bit message.
TEST(Dsn, FullReturnOfEightBitOriginalIsMarked8Bit) {
  auto in = Sample();
  in.original.ret = DsnRet::kFull;
  EXPECT_FALSE(ReportIs8Bit(in));
  in.original_message = "Subject: hi\r\n\r\ncaf\xc3\xa9\r\n";
  EXPECT_TRUE(ReportIs8Bit(in));
  EXPECT_NE(BuildReport(in).find("Content-Transfer-Encoding: 8bit\r\n"), std::string::npos);
  in.original.ret = DsnRet::kHeaders;
  EXPECT_FALSE(ReportIs8Bit(in));
}

}  // namespace
}  // namespace sluice::bounce
