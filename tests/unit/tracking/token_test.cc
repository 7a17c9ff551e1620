#include "tracking/token.h"

#include <gtest/gtest.h>

namespace sluice::tracking {
namespace {

Hit Click() {
  Hit h;
  h.kind = Kind::kClick;
  h.id = SpoolId::Generate();
  h.recipient = "ann@example.com";
  h.tenant = "acme";
  h.campaign = "spring";
  h.sent = 1796601600;
  h.url = "https://shop.example/p?id=1&x=%20y";
  return h;
}

TEST(TrackingToken, RoundTripsAndIsUrlSafe) {
  const Hit h = Click();
  auto t = Encode(h, "secret-1");
  ASSERT_TRUE(t);
  EXPECT_EQ(
      t->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos)
      << *t;
  auto back = Decode(*t, "secret-1");
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, h);
  Hit open = h;
  open.kind = Kind::kOpen;
  open.url.clear();
  auto o = Encode(open, "secret-1");
  ASSERT_TRUE(o);
  EXPECT_EQ(Decode(*o, "secret-1"), open);
}

// No open redirector: any change to the token, its target included, and
// another key, are refused.
TEST(TrackingToken, RefusesChangedTokens) {
  const auto t = *Encode(Click(), "secret-1");
  EXPECT_FALSE(Decode(t, "secret-2"));
  for (std::size_t i = 0; i < t.size(); i += 7) {
    std::string bad = t;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(Decode(bad, "secret-1")) << i;
  }
  EXPECT_FALSE(Decode(t.substr(0, t.size() - 2), "secret-1"));
  EXPECT_FALSE(Decode("", "secret-1"));
  EXPECT_FALSE(Decode("not+a/token==", "secret-1"));
  // A click token without a target, or an open with one, is not ours.
  Hit odd = Click();
  odd.url.clear();
  EXPECT_FALSE(Decode(*Encode(odd, "s"), "s"));
}

TEST(TrackingToken, Limits) {
  Hit h = Click();
  h.url = "https://x.example/" + std::string(4000, 'a');
  EXPECT_FALSE(Encode(h, "s"));
  h = Click();
  h.recipient = std::string(256, 'a');
  EXPECT_FALSE(Encode(h, "s"));
  EXPECT_FALSE(Decode(std::string(9000, 'A'), "s"));
}

}  // namespace
}  // namespace sluice::tracking
