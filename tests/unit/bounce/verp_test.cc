// VERP return paths: compact, tagged, and refused when forged or changed.
#include "bounce/verp.h"

#include <gtest/gtest.h>

namespace sluice::bounce {
namespace {

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";

TEST(Verp, RoundTripsWithinTheLocalPartLimit) {
  // RFC 5321 §4.5.3.1.1: a local part is at most 64 octets.
  for (std::uint32_t rcpt : {0u, 1u, 127u, 128u, 99999u, UINT32_MAX}) {
    const VerpTag tag{SpoolId(0x0006'1234'5678'9abcULL, 0xfedc'ba98'7654'3210ULL), rcpt};
    const std::string local = EncodeVerp(tag, kSecret);
    EXPECT_LE(local.size(), 64u) << local;
    EXPECT_EQ(local.substr(0, 2), "b-");
    auto back = DecodeVerp(local, kSecret);
    ASSERT_TRUE(back) << local;
    EXPECT_EQ(*back, tag);
  }
}

TEST(Verp, SurvivesCaseFoldingOnTheWayBack) {
  const VerpTag tag{SpoolId::Generate(), 3};
  std::string local = EncodeVerp(tag, kSecret);
  for (auto& c : local) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  auto back = DecodeVerp(local, kSecret);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, tag);
}

TEST(Verp, AForgedOrChangedAddressIsRefused) {
  const VerpTag tag{SpoolId::Generate(), 7};
  const std::string local = EncodeVerp(tag, kSecret);
  EXPECT_FALSE(DecodeVerp(local, "another secret of sixteen+ bytes"));
  for (std::size_t i = 2; i < local.size(); ++i) {
    std::string changed = local;
    changed[i] = changed[i] == 'a' ? 'b' : 'a';
    EXPECT_FALSE(DecodeVerp(changed, kSecret)) << changed;
  }
  EXPECT_FALSE(DecodeVerp(local.substr(0, local.size() - 1), kSecret));
  EXPECT_FALSE(DecodeVerp(local + "a", kSecret));
  EXPECT_FALSE(DecodeVerp("postmaster", kSecret));
  EXPECT_FALSE(DecodeVerp("b-", kSecret));
  EXPECT_FALSE(DecodeVerp("b-!!!!", kSecret));
}

// RFC 8058 tokens use the same form under another use of the secret.
TEST(UnsubscribeToken, RoundTripsAndNeverPassesForABounceAddress) {
  const VerpTag tag{SpoolId::Generate(), 0};
  const std::string token = EncodeUnsubscribe(tag, kSecret);
  EXPECT_EQ(token.substr(0, 2), "u-");
  EXPECT_LE(token.size(), 64u);
  ASSERT_TRUE(DecodeUnsubscribe(token, kSecret));
  EXPECT_EQ(*DecodeUnsubscribe(token, kSecret), tag);
  // The same payload with the other prefix: refused both ways.
  const std::string bounce = EncodeVerp(tag, kSecret);
  EXPECT_FALSE(DecodeVerp("b-" + token.substr(2), kSecret));
  EXPECT_FALSE(DecodeUnsubscribe("u-" + bounce.substr(2), kSecret));
  EXPECT_FALSE(DecodeUnsubscribe(token, "another secret of sixteen+ bytes"));
  std::string changed = token;
  changed[10] = changed[10] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(DecodeUnsubscribe(changed, kSecret));
}

// RFC 8058 §3.1: the link alone identifies list and recipient, for as long
// as it is followed (no lookup that could have expired).
TEST(UnsubscribeLink, CarriesRecipientTenantAndCampaign) {
  const UnsubscribeLink link{{SpoolId::Generate(), 0}, "Ann@Example.com", "acme", "spring"};
  auto token = EncodeUnsubscribeLink(link, kSecret);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->front(), 'l');
  EXPECT_EQ(token->find_first_not_of("abcdefghijklmnopqrstuvwxyz234567"), std::string::npos);
  EXPECT_EQ(DecodeUnsubscribeLink(*token, kSecret), link);
  EXPECT_FALSE(DecodeUnsubscribeLink(*token, "another secret of sixteen+ bytes"));
  for (std::size_t i = 1; i < token->size(); i += 7) {
    std::string changed = *token;
    changed[i] = changed[i] == 'a' ? 'b' : 'a';
    EXPECT_FALSE(DecodeUnsubscribeLink(changed, kSecret)) << i;
  }
  EXPECT_FALSE(DecodeUnsubscribeLink(token->substr(0, token->size() - 2), kSecret));
  EXPECT_FALSE(DecodeUnsubscribeLink("l", kSecret));
  EXPECT_FALSE(EncodeUnsubscribeLink({{}, std::string(256, 'a'), "", ""}, kSecret));
}

}  // namespace
}  // namespace sluice::bounce
