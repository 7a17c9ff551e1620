// RFC 7208 check_host() against an in-memory zone, and RFC 7489 record parsing.
#include "doctor/spf.h"

#include <map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "doctor/dmarc.h"

namespace sluice::doctor {
namespace {

namespace asio = boost::asio;
using Strings = std::vector<std::string>;
using Answer = Result<Strings, dns::DnsError>;

// A resolver answering from maps; a name in none of them does not exist.
class ZoneResolver final : public dns::Resolver {
 public:
  std::map<std::string, Strings> txt, a, ptr;
  std::map<std::string, Strings> mx;  // host names, in order
  int queries = 0;

  asio::awaitable<Result<dns::MxSet, dns::DnsError>> ResolveMx(std::string d) override {
    ++queries;
    auto it = mx.find(d);
    if (it == mx.end()) {
      co_return Fail(Known(d) ? dns::DnsError::kNoMailHost : dns::DnsError::kNxDomain);
    }
    dns::MxSet s;
    std::uint16_t pref = 10;
    for (const auto& h : it->second) {
      s.hosts.push_back({pref++, h});
    }
    co_return s;
  }
  asio::awaitable<Answer> ResolveAddresses(std::string h) override { co_return Look(a, h); }
  asio::awaitable<Answer> ResolveTxt(std::string n) override { co_return Look(txt, n); }
  asio::awaitable<Answer> ResolvePtr(std::string ip) override { co_return Look(ptr, ip); }

 private:
  bool Known(const std::string& n) const {
    return txt.count(n) != 0 || a.count(n) != 0 || mx.count(n) != 0;
  }
  Answer Look(const std::map<std::string, Strings>& m, const std::string& n) {
    ++queries;
    auto it = m.find(n);
    if (it != m.end()) {
      return it->second;
    }
    if (Known(n)) {
      return Strings{};
    }
    return Fail(dns::DnsError::kNxDomain);
  }
};

template <class T>
T Await(asio::awaitable<T> aw) {
  asio::io_context ioc;
  std::optional<T> out;
  asio::co_spawn(
      ioc,
      [](asio::awaitable<T> a, std::optional<T>* o) -> asio::awaitable<void> {
        T v = co_await std::move(a);
        o->emplace(std::move(v));
      }(std::move(aw), &out),
      asio::detached);
  ioc.run();
  return std::move(*out);
}

SpfVerdict Check(ZoneResolver& z, const std::string& ip, const std::string& domain) {
  return Await(CheckHost(z, ip, domain, "postmaster@" + domain));
}

TEST(Spf, Rfc7208Section5_QualifiersAndIpRanges) {
  ZoneResolver z;
  z.txt["ex.test"] = {"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~ip4:198.51.100.1 -all"};
  EXPECT_EQ(Check(z, "192.0.2.77", "ex.test").result, SpfResult::kPass);
  EXPECT_EQ(Check(z, "2001:db8::5", "ex.test").result, SpfResult::kPass);
  EXPECT_EQ(Check(z, "198.51.100.1", "ex.test").result, SpfResult::kSoftFail);
  EXPECT_EQ(Check(z, "203.0.113.9", "ex.test").result, SpfResult::kFail);
  z.txt["neutral.test"] = {"v=spf1 ?all"};
  EXPECT_EQ(Check(z, "203.0.113.9", "neutral.test").result, SpfResult::kNeutral);
  z.txt["empty.test"] = {"v=spf1"};
  EXPECT_EQ(Check(z, "203.0.113.9", "empty.test").result, SpfResult::kNeutral);
}

TEST(Spf, Rfc7208Section4_5_RecordSelection) {
  ZoneResolver z;
  z.txt["none.test"] = {"google-site-verification=abc", "v=spf10 nope"};
  EXPECT_EQ(Check(z, "192.0.2.1", "none.test").result, SpfResult::kNone);
  z.txt["two.test"] = {"v=spf1 -all", "V=SPF1 +all"};
  EXPECT_EQ(Check(z, "192.0.2.1", "two.test").result, SpfResult::kPermError);
  EXPECT_EQ(Check(z, "192.0.2.1", "missing.test").result, SpfResult::kNone);
}

TEST(Spf, Rfc7208Section5_AMxInclude) {
  ZoneResolver z;
  z.txt["ex.test"] = {"v=spf1 a mx/30 include:esp.test -all"};
  z.a["ex.test"] = {"192.0.2.10"};
  z.mx["ex.test"] = {"mx.ex.test"};
  z.a["mx.ex.test"] = {"192.0.2.20"};
  z.txt["esp.test"] = {"v=spf1 ip4:203.0.113.0/24 -all"};
  EXPECT_EQ(Check(z, "192.0.2.10", "ex.test").result, SpfResult::kPass);
  EXPECT_EQ(Check(z, "192.0.2.22", "ex.test").result, SpfResult::kPass);  // mx/30
  EXPECT_EQ(Check(z, "192.0.2.24", "ex.test").result, SpfResult::kFail);
  EXPECT_EQ(Check(z, "203.0.113.5", "ex.test").result, SpfResult::kPass);  // via include
  // §5.2: an include whose domain has no record is a permerror.
  z.txt["broken.test"] = {"v=spf1 include:nothing.test -all"};
  EXPECT_EQ(Check(z, "192.0.2.1", "broken.test").result, SpfResult::kPermError);
}

TEST(Spf, Rfc7208Section6_1_Redirect) {
  ZoneResolver z;
  z.txt["ex.test"] = {"v=spf1 ip4:192.0.2.1 redirect=_spf.ex.test"};
  z.txt["_spf.ex.test"] = {"v=spf1 ip4:198.51.100.0/24 -all"};
  EXPECT_EQ(Check(z, "192.0.2.1", "ex.test").result, SpfResult::kPass);
  EXPECT_EQ(Check(z, "198.51.100.3", "ex.test").result, SpfResult::kPass);
  EXPECT_EQ(Check(z, "203.0.113.1", "ex.test").result, SpfResult::kFail);
  z.txt["dangling.test"] = {"v=spf1 redirect=nowhere.test"};
  EXPECT_EQ(Check(z, "203.0.113.1", "dangling.test").result, SpfResult::kPermError);
}

TEST(Spf, Rfc7208Section4_6_4_LookupLimits) {
  ZoneResolver z;
  // Eleven chained includes: the eleventh lookup is one too many.
  for (int i = 0; i < 11; ++i) {
    z.txt["l" + std::to_string(i) + ".test"] = {"v=spf1 include:l" + std::to_string(i + 1) +
                                                ".test -all"};
  }
  z.txt["l11.test"] = {"v=spf1 +all"};
  auto v = Check(z, "192.0.2.1", "l0.test");
  EXPECT_EQ(v.result, SpfResult::kPermError) << v.reason;
  std::string why;
  EXPECT_EQ(Await(CountLookups(z, "l1.test", &why)), 10) << why;
  EXPECT_EQ(Await(CountLookups(z, "l0.test", &why)), 11);
  // More than two void lookups.
  z.txt["voids.test"] = {"v=spf1 a:v1.test a:v2.test a:v3.test +all"};
  EXPECT_EQ(Check(z, "192.0.2.1", "voids.test").result, SpfResult::kPermError);
  z.txt["loop.test"] = {"v=spf1 include:loop.test"};
  EXPECT_EQ(Check(z, "192.0.2.1", "loop.test").result, SpfResult::kPermError);
}

TEST(Spf, SyntaxErrorsArePermErrors) {
  ZoneResolver z;
  for (const char* rec : {"v=spf1 ip4:300.1.1.1", "v=spf1 ip4:192.0.2.1/33", "v=spf1 bogus",
                          "v=spf1 ip6:192.0.2.1", "v=spf1 all:x", "v=spf1 redirect=a redirect=b",
                          "v=spf1 a: -all", "v=spf1 mx:/24 -all", "v=spf1 include: -all",
                          "v=spf1 exists:%{z} -all", "v=spf1 1bad=x -all"}) {
    z.txt["bad.test"] = {rec};
    EXPECT_EQ(Check(z, "192.0.2.1", "bad.test").result, SpfResult::kPermError) << rec;
  }
}

// §4.6: a syntax error anywhere is a permerror, even after a matching term.
TEST(Spf, Rfc7208Section4_6_SyntaxErrorAfterAMatch) {
  ZoneResolver z;
  z.txt["typo.test"] = {"v=spf1 ip4:192.0.2.1 -al"};
  EXPECT_EQ(Check(z, "192.0.2.1", "typo.test").result, SpfResult::kPermError);
  z.txt["ok.test"] = {"v=spf1 ip4:192.0.2.1 a/24 mx:ex.test/24//64 ptr exp=explain.%{d} -all"};
  EXPECT_EQ(Check(z, "192.0.2.1", "ok.test").result, SpfResult::kPass);
}

TEST(Spf, Rfc7208Section7_4_MacroExamples) {
  MacroContext ctx{"strong-bad@email.example.com", "email.example.com", "192.0.2.3",
                   "mx.example.org"};
  auto x = [&](const char* spec) {
    std::string out;
    EXPECT_TRUE(ExpandMacros(spec, ctx, out)) << spec;
    return out;
  };
  EXPECT_EQ(x("%{s}"), "strong-bad@email.example.com");
  EXPECT_EQ(x("%{o}"), "email.example.com");
  EXPECT_EQ(x("%{d}"), "email.example.com");
  EXPECT_EQ(x("%{d4}"), "email.example.com");
  EXPECT_EQ(x("%{d3}"), "email.example.com");
  EXPECT_EQ(x("%{d2}"), "example.com");
  EXPECT_EQ(x("%{d1}"), "com");
  EXPECT_EQ(x("%{dr}"), "com.example.email");
  EXPECT_EQ(x("%{d2r}"), "example.email");
  EXPECT_EQ(x("%{l}"), "strong-bad");
  EXPECT_EQ(x("%{l-}"), "strong.bad");
  EXPECT_EQ(x("%{lr}"), "strong-bad");
  EXPECT_EQ(x("%{lr-}"), "bad.strong");
  EXPECT_EQ(x("%{l1r-}"), "strong");
  EXPECT_EQ(x("%{ir}.%{v}._spf.%{d2}"), "3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(x("%{lr-}.lp._spf.%{d2}"), "bad.strong.lp._spf.example.com");
  EXPECT_EQ(x("%{d2}.trusted-domains.example.net"), "example.com.trusted-domains.example.net");
  ctx.ip = "2001:db8::cb01";
  EXPECT_EQ(x("%{ir}.%{v}._spf.%{d2}"),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
  std::string out;
  EXPECT_FALSE(ExpandMacros("%{x}", ctx, out));
  EXPECT_FALSE(ExpandMacros("%{d", ctx, out));
  EXPECT_FALSE(ExpandMacros("%a", ctx, out));
}

TEST(Spf, ExistsWithMacro) {
  ZoneResolver z;
  z.txt["ex.test"] = {"v=spf1 exists:%{ir}.allow.ex.test -all"};
  z.a["1.2.0.192.allow.ex.test"] = {"127.0.0.2"};
  EXPECT_EQ(Check(z, "192.0.2.1", "ex.test").result, SpfResult::kPass);
  EXPECT_EQ(Check(z, "192.0.2.2", "ex.test").result, SpfResult::kFail);
}

// RFC 7489 §6.3-6.4.
TEST(Dmarc, ParsesPolicyAndRejectsMalformed) {
  std::string why;
  auto r = ParseDmarc("v=DMARC1; p=quarantine; sp=reject; pct=50; rua=mailto:a@x.test,mailto:b@x.test",
                      &why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(r->policy, "quarantine");
  EXPECT_EQ(r->subdomain_policy, "reject");
  EXPECT_EQ(r->pct, 50);
  EXPECT_EQ(r->rua.size(), 2u);
  EXPECT_FALSE(ParseDmarc("p=none; v=DMARC1", &why));  // v= must come first
  EXPECT_FALSE(ParseDmarc("v=DMARC1; rua=mailto:a@x.test", &why));
  EXPECT_EQ(why, "p= (the policy) is missing");
  EXPECT_FALSE(ParseDmarc("v=DMARC1; p=block", &why));
  EXPECT_FALSE(ParseDmarc("v=DMARC1; p=none; pct=150", &why));
  EXPECT_EQ(DmarcCandidates({"v=spf1 -all", "v=DMARC1; p=none"}).size(), 1u);
}

}  // namespace
}  // namespace sluice::doctor
