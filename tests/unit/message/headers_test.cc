// RFC 5322 §2.2 header fields; RFC 5321 §4.4 Received.
#include "message/headers.h"

#include <gtest/gtest.h>

namespace sluice::message {
namespace {

TEST(Headers, HeaderSectionEndsAtFirstEmptyLine) {
  std::string m = "A: 1\r\nB: 2\r\n\r\nMessage-ID: <not-a-header>\r\n";
  EXPECT_EQ(HeaderSection(m), "A: 1\r\nB: 2\r\n");
  EXPECT_FALSE(HasField(m, "Message-ID"));
  EXPECT_TRUE(HasField(m, "b"));
}

TEST(Headers, FieldNamesAreCaseInsensitiveAndFoldingIsSkipped) {
  std::string m = "Subject: x\r\n Date: folded, not a field\r\nmessage-id : <a@b>\r\n\r\n";
  EXPECT_TRUE(HasField(m, "Message-ID"));
  EXPECT_FALSE(HasField(m, "Date"));
}

TEST(Headers, TakeFieldRemovesEveryInstanceAndUnfoldsTheFirst) {
  // RFC 5322 §2.2.3: a folded field is one field; the body is never touched.
  std::string m =
      "From: a@example.com\r\nX-Tenant:  acme\r\n\tcorp \r\nSubject: hi\r\n"
      "x-tenant: other\r\n\r\nX-Tenant: body line\r\n";
  auto v = TakeField(m, "X-Tenant");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, "acme corp");
  EXPECT_EQ(m, "From: a@example.com\r\nSubject: hi\r\n\r\nX-Tenant: body line\r\n");
  EXPECT_FALSE(TakeField(m, "X-Tenant"));
  EXPECT_EQ(m, "From: a@example.com\r\nSubject: hi\r\n\r\nX-Tenant: body line\r\n");
}

TEST(Headers, TakeFieldAtTheEndOfAHeaderOnlyMessage) {
  std::string m = "Subject: x\r\nX-Campaign: spring\r\n";
  EXPECT_EQ(TakeField(m, "x-campaign").value_or("?"), "spring");
  EXPECT_EQ(m, "Subject: x\r\n");
}

TEST(Headers, NoBody) {
  EXPECT_TRUE(HasField("Date: x\r\n", "date"));
  EXPECT_FALSE(HasField("\r\nDate: x\r\n", "date"));
}

TEST(Headers, ReceivedField) {
  TraceInfo t;
  t.helo = "client.example";
  t.client_ip = "192.0.2.1";
  t.by_host = "mx.test";
  t.protocol = "ESMTPSA";
  t.id = "abc";
  t.tls_version = "TLSv1.3";
  t.tls_cipher = "TLS_AES_256_GCM_SHA384";
  t.tls_bits = 256;
  t.single_recipient = "r@example.org";
  t.when = std::chrono::system_clock::time_point(std::chrono::seconds(1795618800));
  EXPECT_EQ(BuildReceived(t),
            "Received: from client.example ([192.0.2.1])\r\n"
            "\tby mx.test (Sluice) with ESMTPSA id abc\r\n"
            "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256 bits))\r\n"
            "\tfor <r@example.org>;\r\n"
            "\tWed, 25 Nov 2026 15:00:00 +0000\r\n");
}

TEST(Headers, ReceivedSanitisesHelo) {
  TraceInfo t;
  t.helo = "evil) (x\x01";
  t.client_ip = "192.0.2.1";
  t.by_host = "mx.test";
  t.protocol = "SMTP";
  t.id = "abc";
  std::string r = BuildReceived(t);
  EXPECT_NE(r.find("from evil___x_ ([192.0.2.1])"), std::string::npos) << r;
}

}  // namespace
}  // namespace sluice::message
