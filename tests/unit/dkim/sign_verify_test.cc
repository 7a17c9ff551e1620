// RFC 6376 signing and verification, RFC 8463 (ed25519-sha256) with its
// Appendix A example, RFC 8301 (RSA key sizes).
#include <map>

#include <gtest/gtest.h>

#include "dkim/key.h"
#include "dkim/sign.h"
#include "dkim/tag_list.h"
#include "dkim/verify.h"

namespace sluice::dkim {
namespace {

using namespace std::chrono_literals;

// RFC 8463 Appendix A.3: the example message signed with both keys of A.2.
constexpr std::string_view kRfc8463Signed =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; \r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    " date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; \r\n"
    " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

// RFC 8463 A.2 key records.
const std::map<std::string, std::string> kRfc8463Keys = {
    {"brisbane._domainkey.football.example.com",
     "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
    {"test._domainkey.football.example.com",
     "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5"
     "bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9P"
     "zoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"},
};

KeyLookup MapLookup(std::map<std::string, std::string> keys) {
  return [keys = std::move(keys)](const std::string& name) -> Result<std::string, LookupError> {
    auto it = keys.find(name);
    if (it == keys.end()) {
      return Fail(LookupError::kNotFound);
    }
    return it->second;
  };
}

constexpr std::string_view kMessage =
    "From: Alice <alice@example.org>\r\n"
    "To: bob@example.net\r\n"
    "Subject: folded\r\n"
    "  subject  line \r\n"
    "Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
    "Message-ID: <1@example.org>\r\n"
    "\r\n"
    "Body line   with spaces   \r\n"
    ". a dot line\r\n"
    "\r\n\r\n";

// RFC 8463 Appendix A: both published signatures verify against the published keys.
TEST(Rfc8463, AppendixAVerifies) {
  auto verdicts = Verify(kRfc8463Signed, MapLookup(kRfc8463Keys));
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[0].status, Status::kPass) << verdicts[0].reason;
  EXPECT_EQ(verdicts[1].status, Status::kPass) << verdicts[1].reason;
}

// RFC 8463 Appendix A: our relaxed body hash of the example equals the published bh=.
TEST(Rfc8463, AppendixABodyHash) {
  auto m = View({}, kRfc8463Signed);
  EXPECT_EQ(BodyHash(Canon::kRelaxed, m.body), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
  // "game.  Are" keeps both spaces in simple canonicalisation.
  EXPECT_EQ(BodyHash(Canon::kSimple, m.body), "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=");
}

// RFC 8463 A.2: the example secret key (RFC 8032 §7.1 test 1) gives the published public key.
TEST(Rfc8463, AppendixAKeyPair) {
  constexpr std::string_view kPem =
      "-----BEGIN PRIVATE KEY-----\n"
      "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
      "-----END PRIVATE KEY-----\n";
  auto key = PrivateKey::FromPem(kPem);
  ASSERT_TRUE(key) << key.error();
  EXPECT_EQ(key->algorithm(), Algorithm::kEd25519Sha256);
  EXPECT_EQ(key->PublicKeyBase64(), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
}

TEST(Rfc8463, TamperedMessagesFail) {
  std::string body_changed(kRfc8463Signed);
  body_changed.replace(body_changed.find("hungry"), 6, "Hungry");
  for (const auto& v : Verify(body_changed, MapLookup(kRfc8463Keys))) {
    EXPECT_EQ(v.status, Status::kFail);
    EXPECT_EQ(v.reason, "body hash did not verify");
  }
  std::string header_changed(kRfc8463Signed);
  header_changed.replace(header_changed.find("Is dinner"), 2, "IS");
  for (const auto& v : Verify(header_changed, MapLookup(kRfc8463Keys))) {
    EXPECT_EQ(v.status, Status::kFail);
    EXPECT_EQ(v.reason, "signature did not verify");
  }
}

class SignVerify : public testing::TestWithParam<std::tuple<Algorithm, std::string>> {};

TEST_P(SignVerify, RoundTrip) {
  auto [alg, canon] = GetParam();
  auto key = PrivateKey::Generate(alg);
  ASSERT_TRUE(key) << key.error();
  SignOptions o;
  o.domain = "example.org";
  o.selector = "s1";
  o.canon = *ParseCanon(canon);
  o.expire = 3600s;
  auto field = Sign(*key, o, kMessage);
  ASSERT_TRUE(field) << field.error();
  // Folded to 78 columns at most, and parseable.
  for (std::size_t pos = 0, eol; (eol = field->find("\r\n", pos)) != std::string::npos;
       pos = eol + 2) {
    EXPECT_LE(eol - pos, 78u) << *field;
  }
  EXPECT_EQ(field->find("l="), std::string::npos);
  std::string signed_msg = *field + std::string(kMessage);
  auto lookup = MapLookup({{"s1._domainkey.example.org", key->DnsRecord()}});
  auto v = Verify(signed_msg, lookup, o.now);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].status, Status::kPass) << v[0].reason << "\n" << *field;
  EXPECT_EQ(v[0].domain, "example.org");

  // §8.15: an added From or Subject breaks the signature (over-signed).
  auto added = Verify(*field + "Subject: injected\r\n" + std::string(kMessage), lookup, o.now);
  EXPECT_EQ(added[0].status, Status::kFail);
  // Unsigned fields may be added.
  auto received = Verify(*field + "Received: by relay\r\n" + std::string(kMessage), lookup, o.now);
  EXPECT_EQ(received[0].status, Status::kPass);
  // x=: expired after an hour.
  auto late = Verify(signed_msg, lookup, o.now + 2h);
  EXPECT_EQ(late[0].status, Status::kPermError);
  EXPECT_EQ(late[0].reason, "signature expired");
}

INSTANTIATE_TEST_SUITE_P(
    AllAlgorithmsAndCanons, SignVerify,
    testing::Combine(testing::Values(Algorithm::kRsaSha256, Algorithm::kEd25519Sha256),
                     testing::Values("relaxed/relaxed", "simple/simple", "relaxed/simple",
                                     "simple/relaxed")));

TEST(Sign, SignsFieldsFromPrependedPiece) {
  auto key = PrivateKey::Generate(Algorithm::kEd25519Sha256);
  ASSERT_TRUE(key);
  SignOptions o;
  o.domain = "example.org";
  o.selector = "s1";
  // A submission server adds Message-ID; it is signed with the rest.
  std::string added = "Message-ID: <added@example.org>\r\n";
  std::string msg = "From: a@example.org\r\n\r\nhi\r\n";
  auto view = View(added, msg);
  auto field = Sign(*key, o, view, BodyHash(o.canon.body, view.body));
  ASSERT_TRUE(field);
  EXPECT_NE(field->find("message-id"), std::string::npos);
  auto lookup = MapLookup({{"s1._domainkey.example.org", key->DnsRecord()}});
  EXPECT_EQ(Verify(*field + added + msg, lookup, o.now)[0].status, Status::kPass);
  EXPECT_EQ(Verify(*field + msg, lookup, o.now)[0].status, Status::kFail);
}

// §8.15: an over-signed field not in the signed list still gets one entry per
// instance plus one, so another instance cannot be added.
TEST(Sign, OversignCountsInstancesEvenWhenNotListed) {
  auto key = PrivateKey::Generate(Algorithm::kEd25519Sha256);
  ASSERT_TRUE(key);
  SignOptions o;
  o.domain = "example.org";
  o.selector = "s1";
  o.headers = {"From", "To"};
  auto field = Sign(*key, o, kMessage);
  ASSERT_TRUE(field);
  std::string unfolded;
  for (char c : *field) {
    if (c != '\r' && c != '\n' && c != '\t') {
      unfolded += c;
    }
  }
  EXPECT_NE(unfolded.find("h=to:from:from:subject:subject;"), std::string::npos) << unfolded;
  auto lookup = MapLookup({{"s1._domainkey.example.org", key->DnsRecord()}});
  auto added = Verify(*field + "Subject: injected\r\n" + std::string(kMessage), lookup, o.now);
  EXPECT_EQ(added[0].status, Status::kFail);
}

TEST(Verify, TooManySignaturesAreNotAllChecked) {
  std::string msg;
  for (int i = 0; i < 12; ++i) {
    msg += "DKIM-Signature: v=1; a=ed25519-sha256; d=x; s=y; h=from; bh=AAAA; b=AAAA\r\n";
  }
  msg += std::string(kMessage);
  auto v = Verify(msg, MapLookup({}));
  ASSERT_EQ(v.size(), 12u);
  EXPECT_EQ(v[11].status, Status::kPermError);
  EXPECT_NE(v[11].reason.find("more than 8 signatures"), std::string::npos);
}

TEST(Verify, KeyProblemsAreErrorsNotFailures) {
  auto key = PrivateKey::Generate(Algorithm::kEd25519Sha256);
  ASSERT_TRUE(key);
  SignOptions o;
  o.domain = "example.org";
  o.selector = "s1";
  std::string msg = *Sign(*key, o, kMessage) + std::string(kMessage);
  EXPECT_EQ(Verify(msg, MapLookup({}))[0].status, Status::kPermError);
  KeyLookup temp = [](const std::string&) -> Result<std::string, LookupError> {
    return Fail(LookupError::kTemporary);
  };
  EXPECT_EQ(Verify(msg, temp)[0].status, Status::kTempError);
  auto revoked = Verify(msg, MapLookup({{"s1._domainkey.example.org", "v=DKIM1; p="}}));
  EXPECT_EQ(revoked[0].status, Status::kPermError);
  auto other = PrivateKey::Generate(Algorithm::kEd25519Sha256);
  auto wrong = Verify(msg, MapLookup({{"s1._domainkey.example.org", other->DnsRecord()}}));
  EXPECT_EQ(wrong[0].status, Status::kFail);
  auto rsa = PrivateKey::Generate(Algorithm::kRsaSha256);
  auto mismatch = Verify(msg, MapLookup({{"s1._domainkey.example.org", rsa->DnsRecord()}}));
  EXPECT_EQ(mismatch[0].status, Status::kPermError);
}

TEST(Verify, MalformedSignatures) {
  auto lookup = MapLookup(kRfc8463Keys);
  std::string base = std::string(kMessage);
  EXPECT_EQ(Verify("DKIM-Signature: v=1; a=rsa-sha256\r\n" + base, lookup)[0].status,
            Status::kPermError);
  EXPECT_EQ(Verify("DKIM-Signature: garbage\r\n" + base, lookup)[0].status, Status::kPermError);
  EXPECT_EQ(Verify("DKIM-Signature: v=1; a=rsa-sha1; b=; bh=; d=a; h=from; s=x\r\n" + base,
                   lookup)[0]
                .reason,
            "unsupported algorithm rsa-sha1");
  EXPECT_TRUE(Verify(base, lookup).empty());
}

TEST(TagList, Rfc6376Section3_2) {
  auto t = ParseTagList(" a = 1 ; b=x y;\r\n c=;");
  ASSERT_TRUE(t);
  EXPECT_EQ(*Find(*t, "a"), "1");
  EXPECT_EQ(*Find(*t, "b"), "x y");
  EXPECT_EQ(*Find(*t, "c"), "");
  EXPECT_FALSE(ParseTagList("a=1; a=2"));  // duplicate
  EXPECT_FALSE(ParseTagList("a=1;; b=2"));
  EXPECT_FALSE(ParseTagList("1a=1"));
}

TEST(Keys, PemRoundTripAndShortRsaRefused) {
  auto k = PrivateKey::Generate(Algorithm::kRsaSha256, 2048);
  ASSERT_TRUE(k);
  auto again = PrivateKey::FromPem(k->ToPem());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->PublicKeyBase64(), k->PublicKeyBase64());
  EXPECT_EQ(again->bits(), 2048);
  auto small = PrivateKey::Generate(Algorithm::kRsaSha256, 512);
  ASSERT_TRUE(small);
  EXPECT_FALSE(PrivateKey::FromPem(small->ToPem()));
  EXPECT_FALSE(PrivateKey::FromPem("not a key"));
}

}  // namespace
}  // namespace sluice::dkim
