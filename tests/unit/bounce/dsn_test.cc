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
  FailedRecipient f;
  f.recipient = "nobody@dest.example";
  f.orcpt = "rfc822;Nobody@dest.example";
  f.status = "5.1.1";
  f.remote_mta = "mx1.dest.example";
  f.diagnostic = "550 5.1.1 no such user\x01";
  f.last_attempt = in.now;
  in.failed.push_back(f);
  in.original_message = "Subject: hi\r\nFrom: sender@example.org\r\n\r\nsecret body\r\n";
  return in;
}

TEST(Dsn, Rfc3464Fields) {
  std::string m = BuildFailureReport(Sample());
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
  std::string hdrs = BuildFailureReport(in);
  EXPECT_NE(hdrs.find("Content-Type: text/rfc822-headers"), std::string::npos);
  EXPECT_EQ(hdrs.find("secret body"), std::string::npos);
  in.original.ret = DsnRet::kFull;
  std::string full = BuildFailureReport(in);
  EXPECT_NE(full.find("Content-Type: message/rfc822"), std::string::npos);
  EXPECT_NE(full.find("secret body"), std::string::npos);
}

TEST(Dsn, Rfc3461Section4_1_Notify) {
  Envelope env;
  env.sender = ParseMailbox("s@example.org").value();
  Recipient r;
  EXPECT_TRUE(WantsFailureReport(env, r));
  r.notify = kNotifyNever;
  EXPECT_FALSE(WantsFailureReport(env, r));
  r.notify = kNotifySuccess | kNotifyDelay;
  EXPECT_FALSE(WantsFailureReport(env, r));
  r.notify = kNotifyFailure;
  EXPECT_TRUE(WantsFailureReport(env, r));
  Envelope null_sender;
  EXPECT_FALSE(WantsFailureReport(null_sender, Recipient{}));
}

}  // namespace
}  // namespace sluice::bounce
