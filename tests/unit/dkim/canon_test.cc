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
