// RFC 6376 §3.4 canonicalisation, with the worked example of §3.4.6.
#include "dkim/canon.h"

#include <gtest/gtest.h>

namespace sluice::dkim {
namespace {

std::string Body(Canon c, std::string_view body) {
  std::string out;
  CanonBody(c, body, [&](std::string_view s) { out.append(s); });
  return out;
}

std::string Headers(Canon c, std::string_view msg) {
  std::string out;
  for (const auto& f : SplitFields(msg)) {
    out += CanonHeader(c, f);
  }
  return out;
}

constexpr std::string_view kExample =
    "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";

TEST(Canon, Rfc6376Section3_4_6Relaxed) {
  EXPECT_EQ(Headers(Canon::kRelaxed, kExample), "a:X\r\nb:Y Z\r\n");
  EXPECT_EQ(Body(Canon::kRelaxed, kExample.substr(BodyOffset(kExample))), " C\r\nD E\r\n");
}

TEST(Canon, Rfc6376Section3_4_6Simple) {
  EXPECT_EQ(Headers(Canon::kSimple, kExample), "A: X\r\nB : Y\t\r\n\tZ  \r\n");
  EXPECT_EQ(Body(Canon::kSimple, kExample.substr(BodyOffset(kExample))), " C \r\nD \t E\r\n");
}

// §3.4.3: an empty simple body is CRLF; §3.4.4 (as corrected): an empty relaxed body is empty.
TEST(Canon, Rfc6376EmptyBodies) {
  EXPECT_EQ(Body(Canon::kSimple, ""), "\r\n");
  EXPECT_EQ(Body(Canon::kSimple, "\r\n\r\n"), "\r\n");
  EXPECT_EQ(Body(Canon::kRelaxed, ""), "");
  EXPECT_EQ(Body(Canon::kRelaxed, " \r\n\t\r\n"), "");
}

TEST(Canon, LoneLineEndsCountAsTheyAreSent) {
  // smtp::DotStuff sends a lone LF or CR as CRLF; the hash must agree.
  EXPECT_EQ(Body(Canon::kSimple, "a\nb\rc"), "a\r\nb\r\nc\r\n");
  EXPECT_EQ(Body(Canon::kRelaxed, "a \nb"), "a\r\nb\r\n");
}

TEST(Canon, RelaxedKeepsLeadingSpaceAsOne) {
  EXPECT_EQ(Body(Canon::kRelaxed, "  x\t y  \r\n"), " x y\r\n");
}

TEST(Canon, LongBodiesStreamInPieces) {
  std::string body;
  for (int i = 0; i < 5000; ++i) {
    body += "line with  two spaces \r\n";
  }
  std::string relaxed;
  int pieces = 0;
  auto n = CanonBody(Canon::kRelaxed, body, [&](std::string_view s) {
    relaxed.append(s);
    ++pieces;
  });
  EXPECT_EQ(n, relaxed.size());
  EXPECT_GT(pieces, 1);
  EXPECT_EQ(relaxed.size(), 5000u * std::string_view("line with two spaces\r\n").size());
}

// The span-at-a-time relaxed forms against a character-at-a-time reading of
// §3.4.2 and §3.4.4, over random text of spaces, tabs, line ends and letters.
TEST(Canon, RelaxedMatchesCharacterRule) {
  auto header_ref = [](std::string_view raw) {
    std::string out = "x:";
    bool space = false;
    bool started = false;
    for (char ch : raw.substr(raw.find(':') + 1)) {
      if (ch == '\r' || ch == '\n') {
        continue;
      }
      if (ch == ' ' || ch == '\t') {
        space = started;
        continue;
      }
      if (space) {
        out += ' ';
        space = false;
      }
      out += ch;
      started = true;
    }
    return out + "\r\n";
  };
  auto line_ref = [](std::string_view text) {
    std::string out;
    bool space = false;
    for (char ch : text) {
      if (ch == ' ' || ch == '\t') {
        space = true;
        continue;
      }
      if (space) {
        out += ' ';
        space = false;
      }
      out += ch;
    }
    return out;
  };
  const char alphabet[] = {' ', '\t', 'a', 'b', ' ', '\r', '\n'};
  std::uint32_t seed = 99;
  for (int n = 0; n < 3000; ++n) {
    std::string v;
    for (int i = 0, len = n % 17; i < len; ++i) {
      seed = seed * 1664525u + 1013904223u;
      v += alphabet[(seed >> 16) % 7];
    }
    std::string raw = "x:" + v;
    ASSERT_EQ(CanonHeaderText(Canon::kRelaxed, raw), header_ref(raw)) << testing::PrintToString(v);
    // One body line (no line ends in it).
    std::string line;
    for (char ch : v) {
      if (ch != '\r' && ch != '\n') {
        line += ch;
      }
    }
    std::string expect = line_ref(line);
    ASSERT_EQ(Body(Canon::kRelaxed, line), expect.empty() ? "" : expect + "\r\n")
        << testing::PrintToString(line);
  }
}

TEST(SplitFields, FoldedAndMalformedLines) {
  auto f = SplitFields("Subject: a\r\n b\r\nnot a field\r\nTo : x\r\n\r\nBody: no\r\n");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].name, "Subject");
  EXPECT_EQ(f[0].raw, "Subject: a\r\n b");
  EXPECT_EQ(f[1].name, "To");
  EXPECT_EQ(f[1].raw, "To : x");
}

TEST(Canon, ParseCanon) {
  EXPECT_EQ(ToString(*ParseCanon("relaxed/simple")), "relaxed/simple");
  EXPECT_EQ(ToString(*ParseCanon("relaxed")), "relaxed/simple");  // §3.5 c=
  EXPECT_FALSE(ParseCanon("loose/simple"));
}

}  // namespace
}  // namespace sluice::dkim
