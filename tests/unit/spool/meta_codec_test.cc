#include <gtest/gtest.h>

#include "spool/spool.h"

namespace sluice::spool {
namespace {

Meta Sample() {
  Meta m;
  m.id = SpoolId(123456789, 987654321);
  m.envelope.sender = ParseMailbox("s@example.com").value();
  Recipient r1{ParseMailbox("a@example.org").value(), kNotifyFailure | kNotifyDelay,
               "rfc822;a@example.org"};
  Recipient r2{ParseMailbox("用户@例子.广告").value(), 0, ""};
  m.envelope.recipients = {r1, r2};
  m.envelope.body = BodyType::k8BitMime;
  m.envelope.smtputf8 = true;
  m.envelope.ret = DsnRet::kHeaders;
  m.envelope.envid = "env-1";
  m.received_us = 1795618800123456;
  m.listener = "submission";
  m.client_ip = "127.0.0.1";
  m.auth_user = "alice";
  m.tenant = "acme";
  m.campaign = "spring-sale";
  m.size = 4242;
  m.attempts = 3;
  m.due_us = -5;
  m.done = {0, 1};
  m.metadata = {{"order", "A-17"}, {"user", "ü 42"}};
  m.send_at_us = 1795618900000000;
  m.message_id = "<spring.42@shop.example>";
  m.envelope.requiretls = true;
  return m;
}

TEST(MetaCodec, RoundTrip) {
  Meta m = Sample();
  auto d = DecodeMeta(EncodeMeta(m));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->id, m.id);
  EXPECT_EQ(d->envelope.sender.ToString(), "s@example.com");
  ASSERT_EQ(d->envelope.recipients.size(), 2u);
  EXPECT_EQ(d->envelope.recipients[0].notify, kNotifyFailure | kNotifyDelay);
  EXPECT_EQ(d->envelope.recipients[0].orcpt, "rfc822;a@example.org");
  EXPECT_EQ(d->envelope.recipients[1].address.ascii_domain, "xn--fsqu00a.xn--4rr70v");
  EXPECT_TRUE(d->envelope.recipients[1].address.utf8);
  EXPECT_EQ(d->envelope.body, BodyType::k8BitMime);
  EXPECT_TRUE(d->envelope.smtputf8);
  EXPECT_EQ(d->envelope.ret, DsnRet::kHeaders);
  EXPECT_EQ(d->envelope.envid, "env-1");
  EXPECT_EQ(d->received_us, m.received_us);
  EXPECT_EQ(d->listener, "submission");
  EXPECT_EQ(d->auth_user, "alice");
  EXPECT_EQ(d->tenant, "acme");
  EXPECT_EQ(d->campaign, "spring-sale");
  EXPECT_EQ(d->size, 4242u);
  EXPECT_EQ(d->attempts, 3u);
  EXPECT_EQ(d->due_us, -5);
  EXPECT_FALSE(d->IsDone(0));
  EXPECT_TRUE(d->IsDone(1));
  EXPECT_EQ(d->metadata, m.metadata);
  EXPECT_EQ(d->send_at_us, m.send_at_us);
  EXPECT_EQ(d->StartUs(), m.send_at_us);
  EXPECT_EQ(d->message_id, m.message_id);
  EXPECT_TRUE(d->envelope.requiretls);
  EXPECT_FALSE(d->envelope.tls_optional);
}

TEST(MetaCodec, TruncatedRecordsAreCorruptNotCrashes) {
  std::string bytes = EncodeMeta(Sample());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto d = DecodeMeta(std::string_view(bytes).substr(0, n));
    EXPECT_FALSE(d.ok()) << n;
  }
}

TEST(MetaCodec, VersionOneRecordsDecodeWithoutTenant) {
  // Spools written before tenants existed: the same fields, no tenant or campaign.
  Meta m = Sample();
  m.tenant.clear();
  m.campaign.clear();
  m.metadata.clear();
  m.send_at_us = 0;
  m.message_id.clear();
  std::string bytes = EncodeMeta(m);
  // Two empty strings (version 2), two zeros (version 3), an empty string (version 4).
  bytes.resize(bytes.size() - 5);
  bytes[0] = 1;
  auto d = DecodeMeta(bytes);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->auth_user, "alice");
  EXPECT_TRUE(d->tenant.empty());
  EXPECT_TRUE(d->IsDone(1));
}

TEST(MetaCodec, VersionTwoRecordsDecodeWithoutMetadata) {
  Meta m = Sample();
  m.metadata.clear();
  m.send_at_us = 0;
  m.message_id.clear();
  std::string bytes = EncodeMeta(m);
  // The metadata count and send_at version 3 appends, the Message-ID version 4 does.
  bytes.resize(bytes.size() - 3);
  bytes[0] = 2;
  auto d = DecodeMeta(bytes);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->campaign, "spring-sale");
  EXPECT_TRUE(d->metadata.empty());
  EXPECT_EQ(d->StartUs(), m.received_us);
}

TEST(MetaCodec, VersionThreeRecordsDecodeWithoutMessageId) {
  Meta m = Sample();
  m.message_id.clear();
  std::string bytes = EncodeMeta(m);
  bytes.resize(bytes.size() - 2);  // the empty Message-ID (v4) and the TLS flags (v5)
  bytes[0] = 3;
  auto d = DecodeMeta(bytes);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->metadata, m.metadata);
  EXPECT_TRUE(d->message_id.empty());
}

// RFC 8689: version 5 carries REQUIRETLS and TLS-Required: No.
TEST(MetaCodec, VersionFourRecordsDecodeWithoutTlsFlags) {
  Meta m = Sample();
  std::string bytes = EncodeMeta(m);
  bytes.resize(bytes.size() - 1);
  bytes[0] = 4;
  auto d = DecodeMeta(bytes);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->message_id, m.message_id);
  EXPECT_FALSE(d->envelope.requiretls);
  m.envelope.requiretls = false;
  m.envelope.tls_optional = true;
  auto optional = DecodeMeta(EncodeMeta(m));
  ASSERT_TRUE(optional.ok());
  EXPECT_TRUE(optional->envelope.tls_optional);
}

TEST(MetaCodec, UnknownVersionIsCorrupt) {
  std::string bytes = EncodeMeta(Sample());
  bytes[0] = 99;
  auto d = DecodeMeta(bytes);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), SpoolError::kCorrupt);
}

}  // namespace
}  // namespace sluice::spool
