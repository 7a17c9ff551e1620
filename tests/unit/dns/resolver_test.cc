// RFC 5321 §5.1 MX ordering, RFC 7505 null MX, RFC 1035 §3.3.9 MX RDATA; site naming.
#include "dns/resolver.h"

#include <map>

#include <gtest/gtest.h>

namespace sluice::dns {
namespace {

std::string Rdata(std::uint16_t pref, std::initializer_list<std::string_view> labels) {
  std::string out;
  out.push_back(static_cast<char>(pref >> 8));
  out.push_back(static_cast<char>(pref & 0xff));
  for (auto l : labels) {
    out.push_back(static_cast<char>(l.size()));
    out.append(l);
  }
  out.push_back('\0');
  return out;
}

TEST(MxRdata, Parses) {
  MxHost h;
  ASSERT_TRUE(ParseMxRdata(Rdata(10, {"MX1", "Example", "com"}), h));
  EXPECT_EQ(h.preference, 10);
  EXPECT_EQ(h.host, "mx1.example.com");
  ASSERT_TRUE(ParseMxRdata(Rdata(0, {}), h));
  EXPECT_EQ(h.host, ".");
}

TEST(MxRdata, RejectsMalformed) {
  MxHost h;
  EXPECT_FALSE(ParseMxRdata("", h));
  EXPECT_FALSE(ParseMxRdata(std::string("\0\x0a\x05mx", 5), h));    // label runs past the end
  EXPECT_FALSE(ParseMxRdata(std::string("\0\x0a\xc0\x0c", 4), h));  // compression pointer
  EXPECT_FALSE(ParseMxRdata(Rdata(1, {"a"}) + "junk", h));          // trailing data
}

TEST(TxtRdata, JoinsCharacterStrings) {
  std::string out;
  ASSERT_TRUE(ParseTxtRdata(std::string("\x03" "abc" "\x02" "de", 7), out));
  EXPECT_EQ(out, "abcde");
  EXPECT_FALSE(ParseTxtRdata(std::string("\x05" "ab", 3), out));
}

// RFC 6698 §2.1: usage, selector, matching type, then the data.
TEST(TlsaRdata, FixedFieldsThenData) {
  TlsaRecord r;
  ASSERT_TRUE(ParseTlsaRdata(std::string("\x03\x01\x01\xab\xcd", 5), r));
  EXPECT_EQ(r.usage, 3);
  EXPECT_EQ(r.selector, 1);
  EXPECT_EQ(r.mtype, 1);
  EXPECT_EQ(r.data, "\xab\xcd");
  EXPECT_FALSE(ParseTlsaRdata(std::string("\x03\x01", 2), r));
}

// RFC 1035 §3.5 and RFC 3596 §2.5.
TEST(ReverseName, V4AndV6) {
  EXPECT_EQ(ReverseName("192.0.2.1"), "1.2.0.192.in-addr.arpa");
  EXPECT_EQ(ReverseName("2001:db8::567:89ab"),
            "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  EXPECT_FALSE(ReverseName("example.com"));
}

TEST(NullMx, Rfc7505Section3) {
  EXPECT_TRUE(IsNullMx({{0, "."}}));
  EXPECT_FALSE(IsNullMx({{10, "."}}));
  EXPECT_FALSE(IsNullMx({{0, "."}, {10, "mx.example.com"}}));
}

TEST(OrderMx, SortsByPreferenceAndShufflesTies) {
  std::map<std::string, int> first_seen;
  for (unsigned seed = 0; seed < 200; ++seed) {
    std::mt19937 rng(seed);
    std::vector<MxHost> hosts = {{20, "c"}, {10, "a"}, {10, "b"}, {30, "d"}};
    OrderMx(hosts, rng);
    ASSERT_EQ(hosts[2].host, "c");
    ASSERT_EQ(hosts[3].host, "d");
    ASSERT_EQ(hosts[0].preference, 10);
    ++first_seen[hosts[0].host];
  }
  // Both equal-preference hosts come first sometimes (RFC 5321 §5.1: randomise).
  EXPECT_GT(first_seen["a"], 40);
  EXPECT_GT(first_seen["b"], 40);
}

TEST(Site, SortedJoinedHostSetIndependentOfOrder) {
  MxSet one{{{10, "mx2.example.net"}, {20, "mx1.example.net"}}};
  MxSet two{{{5, "mx1.example.net"}, {5, "mx2.example.net"}}};
  EXPECT_EQ(one.Site(), "mx1.example.net,mx2.example.net");
  EXPECT_EQ(one.Site(), two.Site());
}

TEST(Errors, PermanenceDrivesBounceOrRetry) {
  EXPECT_TRUE(IsPermanent(DnsError::kNxDomain));
  EXPECT_TRUE(IsPermanent(DnsError::kNullMx));
  EXPECT_TRUE(IsPermanent(DnsError::kNoMailHost));
  EXPECT_FALSE(IsPermanent(DnsError::kServFail));
  EXPECT_FALSE(IsPermanent(DnsError::kTimeout));
}

}  // namespace
}  // namespace sluice::dns
