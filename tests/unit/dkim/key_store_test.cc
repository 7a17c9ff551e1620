// Key choice for signing: rotation by validity window and DNS publication
// (RFC 6376 §3.1 selectors), one signature per algorithm, DMARC-aligned d=.
#include "dkim/key_store.h"

#include <map>

#include <gtest/gtest.h>

#include "dkim/verify.h"

namespace sluice::dkim {
namespace {

using namespace std::chrono_literals;

TimePoint Day(int n) { return TimePoint(std::chrono::hours(24 * (20000 + n))); }

KeyConfig Key(std::string selector, Algorithm a, std::optional<int> from = std::nullopt,
              std::optional<int> until = std::nullopt) {
  KeyConfig k;
  k.selector = std::move(selector);
  k.key = PrivateKey::Generate(a).value();
  if (from) {
    k.valid_from = Day(*from);
  }
  if (until) {
    k.valid_until = Day(*until);
  }
  return k;
}

Options TwoSelectors() {
  Options o;
  DomainConfig d;
  d.domain = d.signing_domain = "example.org";
  d.keys.push_back(Key("old", Algorithm::kEd25519Sha256, std::nullopt, 20));
  d.keys.push_back(Key("new", Algorithm::kEd25519Sha256, 10));
  o.domains.push_back(std::move(d));
  return o;
}

std::vector<std::string> Selectors(const std::vector<Choice>& c) {
  std::vector<std::string> out;
  for (const auto& x : c) {
    out.push_back(x.key->selector);
  }
  return out;
}

TEST(KeyStore, NewestKeyInItsWindowSigns) {
  Options o = TwoSelectors();
  o.require_published = false;
  KeyStore store(std::move(o));
  EXPECT_EQ(Selectors(store.Choose("example.org", Day(5))), std::vector<std::string>{"old"});
  EXPECT_EQ(Selectors(store.Choose("example.org", Day(15))), std::vector<std::string>{"new"});
  EXPECT_EQ(Selectors(store.Choose("example.org", Day(25))), std::vector<std::string>{"new"});
  EXPECT_TRUE(store.Choose("other.org", Day(5)).empty());
}

TEST(KeyStore, UnpublishedKeyIsNotUsed) {
  KeyStore store(TwoSelectors());
  EXPECT_TRUE(store.Choose("example.org", Day(15)).empty());  // nothing known yet
  store.SetPublished("example.org", "old", Published::kYes);
  // "new" is in its window but not seen in DNS: "old" keeps signing.
  EXPECT_EQ(Selectors(store.Choose("example.org", Day(15))), std::vector<std::string>{"old"});
  store.SetPublished("example.org", "new", Published::kYes);
  EXPECT_EQ(Selectors(store.Choose("example.org", Day(15))), std::vector<std::string>{"new"});
  store.SetPublished("example.org", "new", Published::kNo);
  EXPECT_EQ(Selectors(store.Choose("example.org", Day(15))), std::vector<std::string>{"old"});
}

TEST(KeyStore, OneSignaturePerAlgorithmAndFallback) {
  Options o;
  o.require_published = false;
  DomainConfig d;
  d.domain = "esp.example";
  d.signing_domain = "esp.example";
  d.keys.push_back(Key("r1", Algorithm::kRsaSha256));
  d.keys.push_back(Key("e1", Algorithm::kEd25519Sha256));
  o.domains.push_back(std::move(d));
  o.fallback_domain = "esp.example";
  KeyStore store(std::move(o));
  auto c = store.Choose("customer.example", Day(0));
  EXPECT_EQ(Selectors(c), (std::vector<std::string>{"r1", "e1"}));

  std::string msg = "From: Shop <news@customer.example>\r\nSubject: hi\r\n\r\nbody\r\n";
  std::map<std::string, std::string> dns;
  for (const auto& k : store.options().domains[0].keys) {
    dns[k.selector + "._domainkey.esp.example"] = k.key.DnsRecord();
  }
  std::string sigs = SignMessage(store, {}, msg, std::chrono::system_clock::now());
  auto verdicts = Verify(sigs + msg, [&](const std::string& name) -> Result<std::string, LookupError> {
    auto it = dns.find(name);
    if (it == dns.end()) {
      return Fail(LookupError::kNotFound);
    }
    return it->second;
  });
  ASSERT_EQ(verdicts.size(), 2u);
  for (const auto& v : verdicts) {
    EXPECT_EQ(v.status, Status::kPass) << v.reason;
    EXPECT_EQ(v.domain, "esp.example");
  }
}

TEST(FromDomain, FirstMailboxOfFrom) {
  EXPECT_EQ(FromDomain({}, "From: Joe <joe@Football.Example.COM>\r\n\r\n"), "football.example.com");
  EXPECT_EQ(FromDomain({}, "From: joe@example.org (Joe @ home <x>)\r\n\r\n"), "example.org");
  EXPECT_EQ(FromDomain({}, "From: \"a@b.example\" <c@d.example>\r\n\r\n"), "d.example");
  EXPECT_EQ(FromDomain({}, "From: a@one.example, b@two.example\r\n\r\n"), "one.example");
  EXPECT_EQ(FromDomain({}, "From:\r\n <folded@x.example>\r\n\r\n"), "x.example");
  EXPECT_EQ(FromDomain({}, "Subject: none\r\n\r\nFrom: body@x.example\r\n"), "");
  EXPECT_EQ(FromDomain("From: added@y.example\r\n", "Subject: s\r\n\r\n"), "y.example");
}

}  // namespace
}  // namespace sluice::dkim
