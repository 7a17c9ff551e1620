// RFC 5321 §4.2 replies as a client reads them; §4.5.2 dot-stuffing on send.
#include "smtp/proto/reply_parser.h"

#include <gtest/gtest.h>

namespace sluice::smtp {
namespace {

TEST(ReplyParser, SingleLineWithEnhancedCode) {
  ReplyParser p;
  Reply r;
  std::size_t used = 0;
  std::string in = "250 2.1.0 Sender ok\r\n354 next";
  ASSERT_EQ(p.Feed(in, used, r), ReplyParseStatus::kComplete);
  EXPECT_EQ(used, 21u);
  EXPECT_EQ(r.code, 250);
  EXPECT_EQ(r.enhanced, "2.1.0");
  EXPECT_EQ(r.text, "Sender ok");
}

TEST(ReplyParser, MultiLineAcrossFeeds) {
  ReplyParser p;
  Reply r;
  std::size_t used = 0;
  EXPECT_EQ(p.Feed("250-mx.example Hello\r\n250-PIPE", used, r), ReplyParseStatus::kNeedMore);
  EXPECT_EQ(p.Feed("LINING\r\n250 STARTTLS\r\n", used, r), ReplyParseStatus::kComplete);
  EXPECT_EQ(r.code, 250);
  EXPECT_EQ(r.enhanced, "");
  EXPECT_EQ(r.text, "mx.example Hello\nPIPELINING\nSTARTTLS");
}

TEST(ReplyParser, MultiLineEnhancedIsStripped) {
  ReplyParser p;
  Reply r;
  std::size_t used = 0;
  ASSERT_EQ(p.Feed("550-5.7.1 first\r\n550 5.7.1 second\r\n", used, r),
            ReplyParseStatus::kComplete);
  EXPECT_EQ(r.enhanced, "5.7.1");
  EXPECT_EQ(r.text, "first\nsecond");
}

TEST(ReplyParser, BareCodeAndLf) {
  ReplyParser p;
  Reply r;
  std::size_t used = 0;
  ASSERT_EQ(p.Feed("220\n", used, r), ReplyParseStatus::kComplete);
  EXPECT_EQ(r.code, 220);
  EXPECT_EQ(r.text, "");
}

TEST(ReplyParser, Malformed) {
  ReplyParser p;
  Reply r;
  std::size_t used = 0;
  EXPECT_EQ(p.Feed("hello\r\n", used, r), ReplyParseStatus::kMalformed);
  EXPECT_EQ(p.Feed("250-a\r\n251 b\r\n", used, r), ReplyParseStatus::kMalformed);
  EXPECT_EQ(p.Feed("2500 x\r\n", used, r), ReplyParseStatus::kMalformed);
}

TEST(ReplyParser, TooLong) {
  ReplyParser p(100);
  Reply r;
  std::size_t used = 0;
  EXPECT_EQ(p.Feed("250-" + std::string(200, 'x'), used, r), ReplyParseStatus::kTooLong);
}

TEST(EnhancedCode, Forms) {
  EXPECT_EQ(EnhancedCodeLength("5.1.1 no such user"), 5u);
  EXPECT_EQ(EnhancedCodeLength("4.7.650 later"), 7u);
  EXPECT_EQ(EnhancedCodeLength("2.0.0"), 5u);
  EXPECT_EQ(EnhancedCodeLength("3.0.0 x"), 0u);
  EXPECT_EQ(EnhancedCodeLength("5.1 x"), 0u);
  EXPECT_EQ(EnhancedCodeLength("5.1.1x"), 0u);
}

TEST(DotStuff, Rfc5321Section4_5_2) {
  EXPECT_EQ(DotStuff("a\r\n.b\r\n..\r\n"), "a\r\n..b\r\n...\r\n.\r\n");
  EXPECT_EQ(DotStuff(""), ".\r\n");
  EXPECT_EQ(DotStuff("no newline"), "no newline\r\n.\r\n");
  EXPECT_EQ(DotStuff("bare\nlf\r.x"), "bare\r\nlf\r\n..x\r\n.\r\n");
  EXPECT_EQ(DotStuff("a\r\r\nb"), "a\r\n\r\nb\r\n.\r\n");
  EXPECT_EQ(DotStuff(".\r"), "..\r\n.\r\n");
}

// A message sent a piece at a time (as delivery reads it from the spool) is
// stuffed exactly as it would be whole, wherever the pieces split it: inside a
// CRLF, right before a leading dot, on an empty piece.
TEST(DotStuffer, PiecesGiveTheSameWireAsTheWhole) {
  for (std::string_view text : {"a\r\n.b\r\n..\r\n", "", "no newline", "bare\nlf\r.x", "a\r\r\nb",
                                ".\r", "\r\n.\r\n.", "x\r\n\r\n.y\rz\n."}) {
    const std::string whole = DotStuff(text);
    for (std::size_t i = 0; i <= text.size(); ++i) {
      for (std::size_t j = i; j <= text.size(); ++j) {
        DotStuffer s;
        std::string out;
        s.Feed(text.substr(0, i), out);
        s.Feed(text.substr(i, j - i), out);
        s.Feed(text.substr(j), out);
        s.Finish(out);
        ASSERT_EQ(out, whole) << "split at " << i << ", " << j << " of "
                              << testing::PrintToString(std::string(text));
      }
    }
  }
}

// The line-at-a-time copy against a character-at-a-time statement of the rule:
// every line ends in CRLF (a lone CR or LF ends one too), a line starting with
// "." gets another, and the data ends with CRLF "." CRLF.
TEST(DotStuff, MatchesCharacterRule) {
  auto reference = [](std::string_view d) {
    std::string out;
    bool line_start = true;
    for (std::size_t i = 0; i < d.size(); ++i) {
      if (line_start && d[i] == '.') {
        out += '.';
      }
      line_start = d[i] == '\r' || d[i] == '\n';
      if (d[i] == '\r' && i + 1 < d.size() && d[i + 1] == '\n') {
        ++i;
      }
      out += line_start ? std::string_view("\r\n") : d.substr(i, 1);
    }
    return out + (line_start ? "" : "\r\n") + ".\r\n";
  };
  const char alphabet[] = {'.', '\r', '\n', 'x'};
  std::uint32_t seed = 12345;
  for (int n = 0; n < 5000; ++n) {
    std::string in;
    for (int i = 0, len = n % 13; i < len; ++i) {
      seed = seed * 1664525u + 1013904223u;
      in += alphabet[(seed >> 16) % 4];
    }
    ASSERT_EQ(DotStuff(in), reference(in)) << testing::PrintToString(in);
  }
}

}  // namespace
}  // namespace sluice::smtp
