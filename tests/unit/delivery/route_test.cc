#include <gtest/gtest.h>

#include "delivery/dispatcher.h"

namespace sluice::delivery {
namespace {

TEST(RouteHost, Forms) {
  auto a = ParseRouteHost("relay.example.com");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "relay.example.com");
  EXPECT_EQ(a->port, 0);
  auto b = ParseRouteHost("relay.example.com:2525");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->port, 2525);
  auto c = ParseRouteHost("[192.0.2.1]:587");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "[192.0.2.1]");
  EXPECT_EQ(c->port, 587);
  auto d = ParseRouteHost("[IPv6:2001:db8::1]");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->host, "[IPv6:2001:db8::1]");
  EXPECT_EQ(d->port, 0);
}

TEST(RouteHost, Malformed) {
  for (const char* s :
       {"", ":25", "host:", "host:0", "host:65536", "host:2x", "[1.2.3.4", "[1.2.3.4]25", "[]"}) {
    EXPECT_FALSE(ParseRouteHost(s).has_value()) << s;
  }
}

}  // namespace
}  // namespace sluice::delivery
