#include "core/utf8.h"

#include <gtest/gtest.h>

#include "core/address.h"

namespace sluice {
namespace {

// RFC 3629 §4: the well-formed sequences, and the classic ill-formed ones.
TEST(Utf8, Rfc3629Section4WellFormed) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("j\xC3\xBCrgen"));     // U+00FC
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC"));      // U+20AC
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));      // U+D7FF, just below surrogates
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));  // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(Utf8, Rfc3629Section4IllFormed) {
  EXPECT_FALSE(IsValidUtf8("\xFF\xFE"));          // never in UTF-8
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong, 3 octets
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));  // overlong, 4 octets
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // U+D800, a surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
}

TEST(Utf8, ReplacementKeepsWhatIsWellFormed) {
  EXPECT_EQ(ToValidUtf8("ok \xC3\xBC"), "ok \xC3\xBC");
  EXPECT_EQ(ToValidUtf8("a\xFF"
                        "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_TRUE(IsValidUtf8(ToValidUtf8("\xED\xA0\x80x\xF4\x90")));
}

// RFC 6531 §3.3: an internationalised mailbox is UTF-8, well-formed.
TEST(Utf8, MalformedMailboxesAreRefused) {
  for (const char* bad :
       {"\xFF\xFE@example.org", "a\xC0\xAF@example.org", "\xED\xA0\x80@example.org",
        "user@ex\xFF"
        "ample.org"}) {
    auto r = ParseMailbox(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error(), AddressError::kUtf8) << bad;
  }
  EXPECT_TRUE(ParseMailbox("j\xC3\xBCrgen@example.org").ok());
}

}  // namespace
}  // namespace sluice
