// RFC 5782 query names and answers, the built-in lists' codes, and the
// blocklist monitor's states and pool decisions (scripted DNS, injected clock).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "core/clock.h"
#include "monitor/blocklist_monitor.h"
#include "monitor/dnsbl.h"

namespace sluice::monitor {
namespace {

namespace asio = boost::asio;
using Strings = std::vector<std::string>;
using Answer = Result<Strings, dns::DnsError>;

const Blocklist& Zen() {
  return *FindBuiltin("spamhaus-zen");
}

TEST(Dnsbl, Rfc5782Sec2_1_Ipv4OctetsReversed) {
  EXPECT_EQ(QueryName(Zen(), "192.0.2.99"), "99.2.0.192.zen.spamhaus.org");
  EXPECT_FALSE(QueryName(Zen(), "example.com"));
}

TEST(Dnsbl, Rfc5782Sec2_4_Ipv6NibblesReversed) {
  auto name = QueryName(Zen(), "2001:db8:1:2::1");
  ASSERT_TRUE(name);
  EXPECT_EQ(*name,
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org");
}

TEST(Dnsbl, DomainListsTakeTheDomainAsIs) {
  const auto& dbl = *FindBuiltin("spamhaus-dbl");
  EXPECT_EQ(QueryName(dbl, "Mail.Example.COM"), "mail.example.com.dbl.spamhaus.org");
  EXPECT_FALSE(QueryName(dbl, "192.0.2.1"));
}

TEST(Dnsbl, ZenCodesAreDecoded) {
  auto v = Decode(Zen(), {"127.0.0.2", "127.0.0.4"});
  EXPECT_EQ(v.state, Verdict::State::kListed);
  EXPECT_EQ(v.codes, (Strings{"127.0.0.2", "127.0.0.4"}));
  EXPECT_NE(v.meaning.find("SBL"), std::string::npos);
  EXPECT_NE(v.meaning.find("XBL"), std::string::npos);
  EXPECT_EQ(Decode(Zen(), {}).state, Verdict::State::kClear);
}

TEST(Dnsbl, SpamhausRefusalsAreErrorsNotListings) {
  auto v = Decode(Zen(), {"127.255.255.254"});
  EXPECT_EQ(v.state, Verdict::State::kError);
  EXPECT_NE(v.meaning.find("public or open resolver"), std::string::npos);
}

TEST(Dnsbl, Rfc5782Sec2_1_AnswersOutside127AreErrors) {
  // A resolver that rewrites NXDOMAIN into its own search page's address.
  EXPECT_EQ(Decode(Zen(), {"198.51.100.7"}).state, Verdict::State::kError);
}

TEST(Dnsbl, BitmaskListsDecodeEachBit) {
  auto v = Decode(*FindBuiltin("surbl"), {"127.0.0.24"});  // 8 | 16
  EXPECT_EQ(v.state, Verdict::State::kListed);
  EXPECT_NE(v.meaning.find("phishing"), std::string::npos);
  EXPECT_NE(v.meaning.find("malware"), std::string::npos);
  EXPECT_EQ(Decode(*FindBuiltin("uribl"), {"127.0.0.1"}).state, Verdict::State::kError);
}

TEST(Dnsbl, UnknownCodesStillList) {
  Blocklist custom;
  custom.name = "local";
  custom.zone = "bl.test";
  auto v = Decode(custom, {"127.0.0.2"});
  EXPECT_EQ(v.state, Verdict::State::kListed);
  EXPECT_EQ(v.meaning, "listed (127.0.0.2)");
}

TEST(Dnsbl, PublicAddresses) {
  EXPECT_TRUE(IsPublicAddress("8.8.8.8"));
  EXPECT_TRUE(IsPublicAddress("2a00:1450::1"));
  for (const char* a : {"127.0.0.61", "10.1.2.3", "192.168.1.1", "172.20.0.1", "192.0.2.1", "::1",
                        "fe80::1", "fd00::1", "2001:db8::1", "not-an-ip"}) {
    EXPECT_FALSE(IsPublicAddress(a)) << a;
  }
}

// A/TXT answers from maps; `down`: every query SERVFAILs.
class ListResolver final : public dns::Resolver {
 public:
  std::map<std::string, Strings> a, txt;
  bool down = false;
  int queries = 0;
  asio::awaitable<Result<dns::MxSet, dns::DnsError>> ResolveMx(std::string) override {
    co_return Fail(dns::DnsError::kServFail);
  }
  asio::awaitable<Answer> ResolveAddresses(std::string n) override { co_return Look(a, n); }
  asio::awaitable<Answer> ResolveTxt(std::string n) override { co_return Look(txt, n); }
  asio::awaitable<Answer> ResolvePtr(std::string) override {
    co_return Fail(dns::DnsError::kServFail);
  }

 private:
  Answer Look(const std::map<std::string, Strings>& m, const std::string& n) {
    ++queries;
    if (down) {
      return Fail(dns::DnsError::kServFail);
    }
    auto it = m.find(n);
    if (it == m.end()) {
      return Fail(dns::DnsError::kNxDomain);
    }
    return it->second;
  }
};

class Capture final : public events::Observer {
 public:
  void OnBlocklistChanged(const events::BlocklistChanged& e) override { changes.push_back(e); }
  void OnAutomation(const events::Automation& e) override { automations.push_back(e); }
  std::vector<events::BlocklistChanged> changes;
  std::vector<events::Automation> automations;
};

struct Fixture {
  asio::io_context ioc;
  ManualClock clock;
  ListResolver dns;
  events::Bus bus;
  Capture capture;
  std::vector<std::pair<std::string, bool>> pool_calls;
  std::unique_ptr<BlocklistMonitor> monitor;
  Fixture(std::vector<Blocklist> lists, Strings addresses, Strings domains) {
    bus.AddObserver(&capture);
    monitor = std::make_unique<BlocklistMonitor>(ioc, dns, std::move(lists), std::move(addresses),
                                                 std::move(domains), std::chrono::seconds(60), bus,
                                                 clock, [this](const std::string& a, bool out) {
                                                   pool_calls.emplace_back(a, out);
                                                   return true;
                                                 });
  }
  void Run() {
    auto f = asio::co_spawn(ioc, BlocklistMonitor::RunOnce(monitor.get()), asio::use_future);
    ioc.restart();
    ioc.run();
    f.get();
  }
  Listing State(const std::string& list, const std::string& subject) {
    for (const auto& l : monitor->Snapshot()) {
      if (l.list == list && l.subject == subject) {
        return l;
      }
    }
    return {};
  }
};

Blocklist Local(bool take_out) {
  Blocklist l;
  l.name = "local";
  l.zone = "bl.test";
  l.take_out_of_pools = take_out;
  return l;
}

TEST(BlocklistMonitor, AListingIsAnEventWithItsReasonAndTakesTheSourceOut) {
  Fixture f({Local(true)}, {"127.0.0.61", "127.0.0.62"}, {});
  f.Run();
  EXPECT_TRUE(f.capture.changes.empty());  // clear from the start: no news
  EXPECT_EQ(f.State("local", "127.0.0.61").status, Listing::Status::kClear);
  f.dns.a["61.0.0.127.bl.test"] = {"127.0.0.2"};
  f.dns.txt["61.0.0.127.bl.test"] = {"Listed for spam, see https://bl.test/61"};
  f.clock.Advance(std::chrono::minutes(1));
  f.Run();
  ASSERT_EQ(f.capture.changes.size(), 1u);
  const auto& e = f.capture.changes[0];
  EXPECT_TRUE(e.listed);
  EXPECT_EQ(e.subject, "127.0.0.61");
  EXPECT_EQ(e.codes, Strings{"127.0.0.2"});
  EXPECT_EQ(e.reason, "Listed for spam, see https://bl.test/61");
  EXPECT_TRUE(e.out_of_pools);
  EXPECT_EQ(f.pool_calls, (std::vector<std::pair<std::string, bool>>{{"127.0.0.61", true}}));
  ASSERT_EQ(f.capture.automations.size(), 1u);
  EXPECT_EQ(f.capture.automations[0].egress_source, "127.0.0.61");
  EXPECT_EQ(f.capture.automations[0].action, "take source out of pools");
  // Still listed: no news, no second call.
  f.Run();
  EXPECT_EQ(f.capture.changes.size(), 1u);
  EXPECT_EQ(f.pool_calls.size(), 1u);
  // Delisted: back in.
  f.dns.a.clear();
  f.Run();
  ASSERT_EQ(f.capture.changes.size(), 2u);
  EXPECT_FALSE(f.capture.changes[1].listed);
  EXPECT_EQ(f.pool_calls.back(), std::make_pair(std::string("127.0.0.61"), false));
  EXPECT_EQ(f.capture.automations.back().action, "put source back in pools");
}

TEST(BlocklistMonitor, AListThatOnlyReportsLeavesThePoolsAlone) {
  Fixture f({Local(false)}, {"127.0.0.61"}, {});
  f.dns.a["61.0.0.127.bl.test"] = {"127.0.0.2"};
  f.Run();
  ASSERT_EQ(f.capture.changes.size(), 1u);  // listed at the first look: news
  EXPECT_FALSE(f.capture.changes[0].out_of_pools);
  EXPECT_TRUE(f.pool_calls.empty());
}

TEST(BlocklistMonitor, FailedOrRefusedQueriesKeepTheLastState) {
  Fixture f({Local(true)}, {"127.0.0.61"}, {});
  f.dns.a["61.0.0.127.bl.test"] = {"127.0.0.2"};
  f.Run();
  f.dns.down = true;
  f.Run();
  auto l = f.State("local", "127.0.0.61");
  EXPECT_EQ(l.status, Listing::Status::kListed);
  EXPECT_NE(l.error.find("failed"), std::string::npos) << l.error;
  f.dns.down = false;
  f.dns.a["61.0.0.127.bl.test"] = {"203.0.113.9"};  // not a list's answer
  f.Run();
  EXPECT_EQ(f.State("local", "127.0.0.61").status, Listing::Status::kListed);
  EXPECT_EQ(f.capture.changes.size(), 1u);
  EXPECT_EQ(f.pool_calls.size(), 1u);
}

TEST(BlocklistMonitor, PublicListsAreNotAskedAboutPrivateAddressesNorTooOften) {
  Fixture f({*FindBuiltin("spamcop"), *FindBuiltin("spamhaus-dbl")}, {"127.0.0.61", "8.8.4.4"},
            {"example.com"});
  f.Run();
  EXPECT_EQ(f.dns.queries, 2);  // 4.4.8.8.bl.spamcop.net, example.com.dbl.spamhaus.org
  f.clock.Advance(std::chrono::minutes(5));
  f.Run();
  EXPECT_EQ(f.dns.queries, 2);  // within the lists' 15 minutes
  f.clock.Advance(std::chrono::minutes(11));
  f.Run();
  EXPECT_EQ(f.dns.queries, 4);
}

TEST(BlocklistMonitor, ASubdomainIsListedThroughItsRegisteredDomain) {
  Blocklist dbl;
  dbl.name = "dbl";
  dbl.zone = "dbl.test";
  dbl.kind = ListKind::kDomain;
  Fixture f({dbl}, {}, {"mail.shop.example"});
  f.dns.a["shop.example.dbl.test"] = {"127.0.1.2"};
  f.Run();
  auto l = f.State("dbl", "mail.shop.example");
  EXPECT_EQ(l.status, Listing::Status::kListed);
  EXPECT_EQ(l.meaning.rfind("as shop.example: ", 0), 0u) << l.meaning;
  EXPECT_EQ(f.dns.queries, 3);  // mail.shop.example, then shop.example; its TXT
  ASSERT_EQ(f.capture.changes.size(), 1u);
  EXPECT_FALSE(f.capture.changes[0].out_of_pools);
  EXPECT_TRUE(f.pool_calls.empty());
}

TEST(BlocklistMonitor, OutOfPoolsSaysWhatWasDone) {
  Fixture f({Local(true)}, {"127.0.0.61"}, {});
  f.monitor = std::make_unique<BlocklistMonitor>(
      f.ioc, f.dns, std::vector<Blocklist>{Local(true)}, Strings{"127.0.0.61"}, Strings{},
      std::chrono::seconds(60), f.bus, f.clock,
      [](const std::string&, bool) { return false; });  // no such source
  f.dns.a["61.0.0.127.bl.test"] = {"127.0.0.2"};
  f.Run();
  ASSERT_EQ(f.capture.changes.size(), 1u);
  EXPECT_FALSE(f.capture.changes[0].out_of_pools);
  EXPECT_TRUE(f.capture.automations.empty());
}

}  // namespace
}  // namespace sluice::monitor
