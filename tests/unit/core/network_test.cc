#include "core/network.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(Network, Ipv4Cidr) {
  auto n = Network::Parse("127.0.0.0/8");
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->Contains(*IpAddress::Parse("127.1.2.3")));
  EXPECT_FALSE(n->Contains(*IpAddress::Parse("128.0.0.1")));
  auto host = Network::Parse("127.0.0.1/32");
  EXPECT_TRUE(host->Contains(*IpAddress::Parse("127.0.0.1")));
  EXPECT_FALSE(host->Contains(*IpAddress::Parse("127.0.0.2")));
}

TEST(Network, Ipv6Cidr) {
  auto n = Network::Parse("2001:db8::/32");
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->Contains(*IpAddress::Parse("2001:db8:1::5")));
  EXPECT_FALSE(n->Contains(*IpAddress::Parse("2001:db9::1")));
  EXPECT_FALSE(n->Contains(*IpAddress::Parse("10.0.0.1")));
}

TEST(Network, OddPrefixes) {
  auto n = Network::Parse("192.168.0.0/23");
  EXPECT_TRUE(n->Contains(*IpAddress::Parse("192.168.1.255")));
  EXPECT_FALSE(n->Contains(*IpAddress::Parse("192.168.2.0")));
  EXPECT_TRUE(Network::Parse("0.0.0.0/0")->Contains(*IpAddress::Parse("8.8.8.8")));
}

TEST(Network, RejectsMalformed) {
  for (const char* s :
       {"", "127.0.0.1/33", "127.0.0.1/", "127.0.0/8", "::1/129", "x/8", "10.0.0.0/8x"}) {
    EXPECT_FALSE(Network::Parse(s).has_value()) << s;
  }
}

TEST(IpAddress, CanonicalSpelling) {
  // RFC 5952 §4: lower case, longest zero run compressed, no leading zeros.
  EXPECT_EQ(IpAddress::Parse("2001:DB8:0:0:0::01")->ToString(), "2001:db8::1");
  EXPECT_EQ(IpAddress::Parse("127.0.0.71")->ToString(), "127.0.0.71");
  EXPECT_EQ(IpAddress::Parse("::1")->ToString(), "::1");
}

TEST(IpAddress, Loopback) {
  EXPECT_TRUE(IpAddress::Parse("127.0.0.2")->IsLoopback());
  EXPECT_TRUE(IpAddress::Parse("::1")->IsLoopback());
  EXPECT_FALSE(IpAddress::Parse("192.0.2.1")->IsLoopback());
}

TEST(Network, AnyContains) {
  std::vector<Network> nets = {*Network::Parse("10.0.0.0/8"), *Network::Parse("::1")};
  EXPECT_TRUE(AnyContains(nets, "10.9.9.9"));
  EXPECT_TRUE(AnyContains(nets, "::1"));
  EXPECT_FALSE(AnyContains(nets, "127.0.0.1"));
  EXPECT_FALSE(AnyContains(nets, "not-an-ip"));
}

}  // namespace
}  // namespace sluice
