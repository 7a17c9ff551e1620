#include "delivery/tls_policy.h"

#include <gtest/gtest.h>

namespace sluice::delivery {
namespace {

using dns::DnsError;
using dns::TlsaRecord;
using dns::TlsaSet;
using shaping::Tls;
using TlsaResult = Result<TlsaSet, DnsError>;

TlsaRecord Ee() {
  return {3, 1, 1, std::string(32, '\x11')};
}

TEST(TlsPolicy, ConfiguredModesWithoutDane) {
  auto opp = DecideHostTls(Tls::kOpportunistic, "mx.example", nullptr);
  ASSERT_TRUE(opp);
  EXPECT_EQ(opp->tls, smtp::TlsPolicy::kOpportunistic);
  EXPECT_EQ(opp->auth.kind, tls::PeerAuth::Kind::kNone);
  EXPECT_EQ(opp->policy, "opportunistic");

  auto verify = DecideHostTls(Tls::kVerify, "mx.example", nullptr);
  ASSERT_TRUE(verify);
  EXPECT_EQ(verify->tls, smtp::TlsPolicy::kRequired);
  EXPECT_EQ(verify->auth.kind, tls::PeerAuth::Kind::kPkix);
  EXPECT_EQ(verify->auth.names, std::vector<std::string>{"mx.example"});
  EXPECT_EQ(verify->policy, "verify");
}

// RFC 7672 §2.2: secure usable TLSA records make TLS mandatory and
// authenticated, whatever the configured mode (the strongest wins).
TEST(TlsPolicy, SecureUsableTlsaMeansDane) {
  TlsaResult r = TlsaSet{{Ee(), {0, 0, 1, std::string(32, 'x')}}, true};
  for (Tls configured : {Tls::kDisabled, Tls::kOpportunistic, Tls::kVerify}) {
    auto d = DecideHostTls(configured, "mx.example", &r);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->policy, "dane");
    EXPECT_EQ(d->tls, smtp::TlsPolicy::kRequired);
    EXPECT_EQ(d->auth.kind, tls::PeerAuth::Kind::kDane);
    ASSERT_EQ(d->auth.tlsa.size(), 1u);  // RFC 7672 §3.1.3: PKIX-TA(0) is unusable
    EXPECT_EQ(d->auth.tlsa[0].usage, 3);
  }
}

// RFC 7672 §2.2: secure records none of which is usable: TLS, unauthenticated.
TEST(TlsPolicy, SecureUnusableTlsaStillMandatesTls) {
  TlsaResult r = TlsaSet{{{1, 1, 1, std::string(32, 'x')}, {3, 1, 1, "short"}}, true};
  auto d = DecideHostTls(Tls::kOpportunistic, "mx.example", &r);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->tls, smtp::TlsPolicy::kRequired);
  EXPECT_EQ(d->auth.kind, tls::PeerAuth::Kind::kNone);
  auto required = DecideHostTls(Tls::kDane, "mx.example", &r);
  ASSERT_FALSE(required);
  EXPECT_EQ(required.error().result_type, "tlsa-invalid");
}

// RFC 7672 §2.2: a failed or bogus lookup leaves the host unusable.
TEST(TlsPolicy, BogusOrFailedLookupRefusesTheHost) {
  TlsaResult bogus = Fail(DnsError::kBogus);
  auto b = DecideHostTls(Tls::kOpportunistic, "mx.example", &bogus);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().reply.code, 451);
  EXPECT_EQ(b.error().reply.enhanced, "4.7.5");
  EXPECT_EQ(b.error().result_type, "dnssec-invalid");
  TlsaResult servfail = Fail(DnsError::kServFail);
  EXPECT_FALSE(DecideHostTls(Tls::kOpportunistic, "mx.example", &servfail));
}

// Insecure or absent records change nothing, unless DANE is required.
TEST(TlsPolicy, InsecureOrAbsentTlsaFallsBack) {
  TlsaResult insecure = TlsaSet{};
  auto d = DecideHostTls(Tls::kOpportunistic, "mx.example", &insecure);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->policy, "opportunistic");
  TlsaResult denied = TlsaSet{{}, true};
  auto v = DecideHostTls(Tls::kVerify, "mx.example", &denied);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->policy, "verify");
  auto required = DecideHostTls(Tls::kDane, "mx.example", &denied);
  ASSERT_FALSE(required);
  EXPECT_EQ(required.error().result_type, "dane-required");
}

mtasts::Policy Sts(mtasts::Mode mode) {
  mtasts::Policy p;
  p.mode = mode;
  p.mx = {"*.example.com"};
  return p;
}

// RFC 8461 §4.2: enforce: named hosts only, TLS, a valid certificate.
TEST(TlsPolicy, MtaStsEnforce) {
  auto sts = Sts(mtasts::Mode::kEnforce);
  auto d = DecideHostTls(Tls::kOpportunistic, "mx.example.com", nullptr, &sts);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->policy, "mta-sts");
  EXPECT_EQ(d->tls, smtp::TlsPolicy::kRequired);
  EXPECT_EQ(d->auth.kind, tls::PeerAuth::Kind::kPkix);
  EXPECT_TRUE(d->enforced);
  auto other = DecideHostTls(Tls::kOpportunistic, "mx.example.org", nullptr, &sts);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().reply.enhanced, "4.7.5");
}

// RFC 8461 §2: DANE takes precedence over MTA-STS for a host with TLSA records.
TEST(TlsPolicy, DaneBeforeMtaSts) {
  auto sts = Sts(mtasts::Mode::kEnforce);
  TlsaResult r = TlsaSet{{Ee()}, true};
  auto d = DecideHostTls(Tls::kOpportunistic, "mx.example.com", &r, &sts);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->policy, "dane");
}

// RFC 8461 §5: testing: checked, reported, not enforced; `verify` still is.
TEST(TlsPolicy, MtaStsTesting) {
  auto sts = Sts(mtasts::Mode::kTesting);
  auto d = DecideHostTls(Tls::kOpportunistic, "mx.example.org", nullptr, &sts);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->policy, "mta-sts-testing");
  EXPECT_EQ(d->tls, smtp::TlsPolicy::kOpportunistic);
  EXPECT_EQ(d->auth.kind, tls::PeerAuth::Kind::kPkix);
  EXPECT_FALSE(d->enforced);
  auto v = DecideHostTls(Tls::kVerify, "mx.example.com", nullptr, &sts);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->enforced);
  // tls = "mta-sts" requires a policy.
  EXPECT_FALSE(DecideHostTls(Tls::kMtaSts, "mx.example.com", nullptr, nullptr));
}

TEST(TlsPolicy, NoTlsaLookupForAddressLiterals) {
  EXPECT_FALSE(WantsTlsa(Tls::kDane, true, "[192.0.2.1]"));
  EXPECT_TRUE(WantsTlsa(Tls::kOpportunistic, true, "mx.example"));
  EXPECT_FALSE(WantsTlsa(Tls::kOpportunistic, false, "mx.example"));
  EXPECT_TRUE(WantsTlsa(Tls::kDane, false, "mx.example"));
}

// RFC 7672 §3.1: DANE-TA(2)/DANE-EE(3), selectors 0/1, matching 0/1/2 with
// the digest's length.
TEST(TlsPolicy, UsableForSmtp) {
  EXPECT_TRUE(tls::UsableForSmtp({3, 1, 1, std::string(32, 'a')}));
  EXPECT_TRUE(tls::UsableForSmtp({2, 0, 2, std::string(64, 'a')}));
  EXPECT_TRUE(tls::UsableForSmtp({3, 0, 0, "DER"}));
  EXPECT_FALSE(tls::UsableForSmtp({1, 1, 1, std::string(32, 'a')}));
  EXPECT_FALSE(tls::UsableForSmtp({3, 2, 1, std::string(32, 'a')}));
  EXPECT_FALSE(tls::UsableForSmtp({3, 1, 1, std::string(31, 'a')}));
  EXPECT_FALSE(tls::UsableForSmtp({3, 1, 3, std::string(32, 'a')}));
}

// RFC 8460 §4.3.1: what sessions are reported under.
TEST(TlsPolicy, ReportedPolicy) {
  TlsaResult r = TlsaSet{{{3, 1, 1, std::string("\x01\xab", 2)}}, true};
  auto dane = ReportedPolicy("dane", "mx.example.com", &r, nullptr);
  EXPECT_EQ(dane.type, "tlsa");
  EXPECT_EQ(dane.strings, std::vector<std::string>{"3 1 1 01ab"});
  EXPECT_EQ(dane.mx_hosts, std::vector<std::string>{"mx.example.com"});
  auto sts = Sts(mtasts::Mode::kTesting);
  sts.max_age = 86400;
  auto reported = ReportedPolicy("mta-sts-testing", "mx.example.com", nullptr, &sts);
  EXPECT_EQ(reported.type, "sts");
  EXPECT_EQ(reported.strings, (std::vector<std::string>{"version: STSv1", "mode: testing",
                                                        "mx: *.example.com", "max_age: 86400"}));
  EXPECT_EQ(reported.mx_hosts, std::vector<std::string>{"*.example.com"});
  // Policies the receiver did not publish.
  EXPECT_EQ(ReportedPolicy("verify", "mx.example.com", nullptr, nullptr).type, "no-policy-found");
  EXPECT_EQ(ReportedPolicy("mta-sts", "", nullptr, nullptr).type, "no-policy-found");
}

}  // namespace
}  // namespace sluice::delivery
