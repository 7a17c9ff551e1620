#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "mtasts/policies.h"
#include "mtasts/policy.h"
#include "support/txt_resolver.h"

namespace sluice::mtasts {
namespace {

namespace asio = boost::asio;

constexpr const char* kEnforce =
    "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
    "max_age: 86400\r\n";

// RFC 8461 §3.1
TEST(MtaStsRecord, ParsesVersionAndId) {
  auto r = ParseRecord("v=STSv1; id=20160831085700Z;");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->id, "20160831085700Z");
  EXPECT_TRUE(ParseRecord("v=STSv1;id=abc; ext=1"));
  EXPECT_FALSE(ParseRecord("id=abc; v=STSv1"));  // v first
  EXPECT_FALSE(ParseRecord("v=STSv1"));          // no id
  EXPECT_FALSE(ParseRecord("v=STSv1; id=a-b"));  // letters and digits only
  EXPECT_FALSE(ParseRecord("v=STSv1; id=" + std::string(33, 'a')));
}

// RFC 8461 §3.1: exactly one record starting v=STSv1; others are ignored.
TEST(MtaStsRecord, PicksTheOneStsRecord) {
  auto one = PickRecord({"v=spf1 -all", "v=STSv1; id=1"});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->id, "1");
  EXPECT_FALSE(PickRecord({"v=STSv1; id=1", "v=STSv1; id=2"}));
  auto none = PickRecord({"v=spf1 -all"});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), "");
}

// RFC 8461 §3.2
TEST(MtaStsPolicy, ParsesThePolicyFile) {
  auto p = ParsePolicy(kEnforce);
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->mode, Mode::kEnforce);
  EXPECT_EQ(p->max_age, 86400u);
  EXPECT_EQ(p->mx, (std::vector<std::string>{"mail.example.com", "*.example.net"}));
  // LF line ends, unknown keys, a repeated key (the first counts).
  auto lf = ParsePolicy(
      "version: STSv1\nmode: testing\nmode: enforce\nfoo: bar\nmx: A.Example\n"
      "max_age: 99999999999\n");
  EXPECT_FALSE(lf);  // 11 digits
  auto t = ParsePolicy(
      "version: STSv1\nmode: testing\nmode: enforce\nfoo: bar\nmx: A.Example.\n"
      "max_age: 9999999999\n");
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->mode, Mode::kTesting);
  EXPECT_EQ(t->mx, std::vector<std::string>{"a.example"});
  EXPECT_EQ(t->max_age, 31557600u);  // capped at the RFC's maximum
}

TEST(MtaStsPolicy, RefusesIncompletePolicies) {
  EXPECT_FALSE(ParsePolicy("mode: enforce\nmx: a.example\nmax_age: 1\n"));          // no version
  EXPECT_FALSE(ParsePolicy("version: STSv2\nmode: enforce\nmx: a\nmax_age: 1\n"));  // version
  EXPECT_FALSE(ParsePolicy("version: STSv1\nmode: enforce\nmax_age: 1\n"));         // no mx
  EXPECT_FALSE(ParsePolicy("version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n"));   // mode
  EXPECT_FALSE(ParsePolicy("version: STSv1\nmode: enforce\nmx: a\n"));              // no max_age
  EXPECT_FALSE(ParsePolicy("version: STSv1\nmode: enforce\nmx: a b\nmax_age: 1\n"));
  EXPECT_FALSE(ParsePolicy("version: STSv1\nmode: enforce\nmx: *.*.a\nmax_age: 1\n"));
  EXPECT_TRUE(ParsePolicy("version: STSv1\nmode: none\nmax_age: 1\n"));  // none needs no mx
  EXPECT_FALSE(ParsePolicy(std::string(kMaxPolicyBytes + 1, 'a')));
}

// RFC 8461 §4.1: "*." matches exactly one left-most label.
TEST(MtaStsPolicy, MatchesMxHosts) {
  auto p = ParsePolicy(kEnforce).value();
  EXPECT_TRUE(p.Matches("mail.example.com"));
  EXPECT_TRUE(p.Matches("MAIL.example.com."));
  EXPECT_TRUE(p.Matches("mx1.example.net"));
  EXPECT_FALSE(p.Matches("example.net"));
  EXPECT_FALSE(p.Matches("a.b.example.net"));
  EXPECT_FALSE(p.Matches("evil-mail.example.com"));
  EXPECT_FALSE(p.Matches("xexample.net"));
}

// A resolver that answers TXT from a map, and a fetcher from a script.
using FakeResolver = testing::TxtResolver;

class FakeFetcher final : public Fetcher {
 public:
  std::optional<std::string> body;  // nullopt: the fetch fails
  int fetches = 0;
  asio::awaitable<Result<std::string, FetchFailure>> Fetch(std::string) override {
    ++fetches;
    if (!body) {
      co_return Fail(FetchFailure{"sts-policy-fetch-error", "connection refused"});
    }
    co_return *body;
  }
};

class MtaStsPolicies : public ::testing::Test {
 protected:
  Lookup For(const std::string& domain) {
    asio::io_context ioc;
    auto f = asio::co_spawn(ioc, policies.For(domain), asio::use_future);
    ioc.run();
    return f.get();
  }
  ManualClock clock;
  FakeResolver resolver;
  FakeFetcher fetcher;
  Policies policies{clock, resolver, fetcher, ""};
};

TEST_F(MtaStsPolicies, NoRecordNoPolicy) {
  auto l = For("example.com");
  EXPECT_EQ(l.policy, nullptr);
  EXPECT_EQ(fetcher.fetches, 0);
}

// RFC 8461 §5.1: cached for max_age; fetched again only when the id changes.
TEST_F(MtaStsPolicies, CachesUntilTheIdChanges) {
  resolver.txt["_mta-sts.example.com"] = {"v=STSv1; id=1"};
  fetcher.body = kEnforce;
  auto first = For("example.com");
  ASSERT_NE(first.policy, nullptr);
  EXPECT_EQ(first.policy->mode, Mode::kEnforce);
  EXPECT_EQ(first.policy->id, "1");
  For("example.com");
  EXPECT_EQ(fetcher.fetches, 1);
  resolver.txt["_mta-sts.example.com"] = {"v=STSv1; id=2"};
  fetcher.body = "version: STSv1\nmode: testing\nmx: mail.example.com\nmax_age: 600\n";
  auto second = For("example.com");
  EXPECT_EQ(fetcher.fetches, 2);
  ASSERT_NE(second.policy, nullptr);
  EXPECT_EQ(second.policy->mode, Mode::kTesting);
}

// RFC 8461 §5.1: a failed refresh, a vanished record or a DNS failure keeps
// the cached policy while it is unexpired; after max_age it is gone.
TEST_F(MtaStsPolicies, KeepsTheCachedPolicyThroughFailures) {
  resolver.txt["_mta-sts.example.com"] = {"v=STSv1; id=1"};
  fetcher.body = kEnforce;
  For("example.com");
  resolver.txt["_mta-sts.example.com"] = {"v=STSv1; id=2"};
  fetcher.body.reset();
  auto failed = For("example.com");
  ASSERT_NE(failed.policy, nullptr);
  EXPECT_EQ(failed.policy->id, "1");
  ASSERT_TRUE(failed.failure);
  EXPECT_EQ(failed.failure->result_type, "sts-policy-fetch-error");
  fetcher.body = "not a policy";
  auto invalid = For("example.com");
  ASSERT_NE(invalid.policy, nullptr);
  EXPECT_EQ(invalid.failure->result_type, "sts-policy-invalid");
  resolver.txt.clear();
  EXPECT_NE(For("example.com").policy, nullptr);
  resolver.fail = true;
  EXPECT_NE(For("example.com").policy, nullptr);
  clock.Advance(std::chrono::seconds(86401));
  EXPECT_EQ(For("example.com").policy, nullptr);
}

TEST_F(MtaStsPolicies, StateSurvivesARestart) {
  resolver.txt["_mta-sts.example.com"] = {"v=STSv1; id=7"};
  fetcher.body = kEnforce;
  For("example.com");
  Policies again{clock, resolver, fetcher, ""};
  again.Deserialize(policies.Serialize());
  auto p = again.Cached("example.com");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->id, "7");
  EXPECT_EQ(p->mx, (std::vector<std::string>{"mail.example.com", "*.example.net"}));
  clock.Advance(std::chrono::seconds(86401));
  Policies later{clock, resolver, fetcher, ""};
  later.Deserialize(policies.Serialize());
  EXPECT_EQ(later.Cached("example.com"), nullptr);
}

}  // namespace
}  // namespace sluice::mtasts
