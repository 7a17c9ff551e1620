// RFC 5321 §4.1.2 Path/Mailbox, §4.5.3.1 limits; RFC 6531 §3.3 UTF-8; RFC 5891 IDNA.
#include "core/address.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

Address MustParse(std::string_view s) {
  auto r = ParseMailbox(s);
  EXPECT_TRUE(r.ok()) << s;
  return r.ok() ? r.value() : Address{};
}

TEST(Address, DotString) {
  auto a = MustParse("first.last+tag@Example.COM");
  EXPECT_EQ(a.local, "first.last+tag");
  EXPECT_EQ(a.domain, "Example.COM");
  EXPECT_EQ(a.ascii_domain, "example.com");
  EXPECT_FALSE(a.utf8);
}

TEST(Address, QuotedLocalPartKeepsQuotes) {
  auto a = MustParse("\"john..doe@home\"@example.com");
  EXPECT_EQ(a.local, "\"john..doe@home\"");
  EXPECT_EQ(a.ascii_domain, "example.com");
  auto b = MustParse("\"a\\\"b\\\\c\"@example.com");
  EXPECT_EQ(b.local, "\"a\\\"b\\\\c\"");
}

TEST(Address, QuotedLocalPartRejectsControlCharacters) {
  EXPECT_FALSE(ParseMailbox("\"a\x01\"@example.com").ok());
  EXPECT_FALSE(ParseMailbox("\"unterminated@example.com").ok());
}

TEST(Address, AddressLiterals) {
  EXPECT_EQ(MustParse("a@[192.0.2.1]").ascii_domain, "[192.0.2.1]");
  EXPECT_EQ(MustParse("a@[IPv6:2001:DB8::1]").ascii_domain, "[ipv6:2001:db8::1]");
  EXPECT_FALSE(ParseMailbox("a@[192.0.2]").ok());
  EXPECT_FALSE(ParseMailbox("a@[IPv6:zz::1]").ok());
}

TEST(Address, MalformedDomains) {
  for (const char* s : {"a@", "a@.example.com", "a@example..com", "a@-example.com",
                        "a@example-.com", "a@exa mple.com", "a@example.com."}) {
    EXPECT_FALSE(ParseMailbox(s).ok()) << s;
  }
}

TEST(Address, MalformedLocalParts) {
  for (const char* s : {"@example.com", ".a@example.com", "a.@example.com", "a..b@example.com",
                        "a b@example.com", "a(b)@example.com"}) {
    EXPECT_FALSE(ParseMailbox(s).ok()) << s;
  }
}

TEST(Address, Rfc5321Section4_5_3_1_Limits) {
  std::string local64(64, 'a');
  EXPECT_TRUE(ParseMailbox(local64 + "@example.com").ok());
  auto r = ParseMailbox(local64 + "a@example.com");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), AddressError::kTooLong);
  std::string label64(64, 'b');
  EXPECT_FALSE(ParseMailbox("a@" + label64 + ".com").ok());
}

TEST(Address, Rfc6531Utf8LocalPartAndIdnDomain) {
  auto a = MustParse("θσερ@παράδειγμα.δοκιμή");
  EXPECT_TRUE(a.utf8);
  EXPECT_EQ(a.local, "θσερ");
  EXPECT_EQ(a.ascii_domain, "xn--hxajbheg2az3al.xn--jxalpdlp");
}

TEST(Address, IdnDomainWithAsciiLocalPart) {
  auto a = MustParse("info@münchen.de");
  EXPECT_TRUE(a.utf8);
  EXPECT_EQ(a.ascii_domain, "xn--mnchen-3ya.de");
}

TEST(Path, NullAndPostmaster) {
  PathOptions mail{.allow_null = true};
  auto n = ParsePath("<>", mail);
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->address.IsNull());
  EXPECT_EQ(n->consumed, 2u);
  EXPECT_FALSE(ParsePath("<>", PathOptions{}).ok());
  PathOptions rcpt{.allow_postmaster = true};
  auto p = ParsePath("<POSTMASTER>", rcpt);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->address.IsBarePostmaster());
}

TEST(Path, ConsumedStopsAtClosingBracket) {
  auto p = ParsePath("<\"a>b\"@example.com> SIZE=1", PathOptions{});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->address.local, "\"a>b\"");
  EXPECT_EQ(p->consumed, std::string_view("<\"a>b\"@example.com>").size());
}

TEST(Path, SourceRouteIsDropped) {
  auto p = ParsePath("<@one.example,@two.example:user@three.example>", PathOptions{});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->address.ToString(), "user@three.example");
}

TEST(Path, UnbracketedOnlyWhenAllowed) {
  EXPECT_TRUE(ParsePath("user@example.com", PathOptions{}).ok());
  EXPECT_FALSE(ParsePath("user@example.com", PathOptions{.allow_unbracketed = false}).ok());
}

}  // namespace
}  // namespace sluice
