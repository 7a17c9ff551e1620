#include "tracking/html.h"

#include <gtest/gtest.h>

#include "tracking/track.h"

namespace sluice::tracking {
namespace {

LinkFn Wrap(std::vector<std::string>* seen) {
  return [seen](const std::string& url) -> std::optional<std::string> {
    seen->push_back(url);
    return "https://t.example/c/" + std::to_string(seen->size());
  };
}

TEST(TrackHtml, RewritesHttpLinksOnly) {
  std::vector<std::string> seen;
  const std::string html =
      "<p><a href=\"https://a.example/x?q=1&amp;r=2\">one</a> "
      "<A class=b HREF='http://b.example/'>two</A> "
      "<a href=https://c.example/u>three</a> "
      "<a href=\"mailto:x@y.example\">mail</a> <a href=\"/relative\">rel</a> "
      "<a name=\"top\">anchor</a> <abbr title=\"href=https://no.example\">x</abbr> "
      "<!-- <a href=\"https://comment.example/\"> --> "
      "<area shape=rect href=\"https://d.example/\"></p>";
  const std::string out = TrackHtml(html, Wrap(&seen), "");
  EXPECT_EQ(seen, (std::vector<std::string>{"https://a.example/x?q=1&r=2", "http://b.example/",
                                            "https://c.example/u", "https://d.example/"}));
  EXPECT_NE(out.find("<a href=\"https://t.example/c/1\">one</a>"), std::string::npos) << out;
  EXPECT_NE(out.find("<A class=b href=\"https://t.example/c/2\">two</A>"), std::string::npos)
      << out;
  EXPECT_NE(out.find("<a href=\"https://t.example/c/3\">three</a>"), std::string::npos) << out;
  EXPECT_NE(out.find("href=\"mailto:x@y.example\""), std::string::npos);
  EXPECT_NE(out.find("href=\"/relative\""), std::string::npos);
  EXPECT_NE(out.find("<!-- <a href=\"https://comment.example/\"> -->"), std::string::npos);
  EXPECT_NE(out.find("title=\"href=https://no.example\""), std::string::npos);
}

TEST(TrackHtml, PixelBeforeBodyEndOrAtTheEnd) {
  const std::string with_body =
      TrackHtml("<html><body><p>hi</p></BODY></html>", nullptr, "https://t.example/o/T");
  EXPECT_NE(with_body.find("<img src=\"https://t.example/o/T\" width=\"1\" height=\"1\""),
            std::string::npos);
  EXPECT_LT(with_body.find("<img"), with_body.find("</BODY>"));
  const std::string bare = TrackHtml("<p>hi</p>", nullptr, "https://t.example/o/T");
  EXPECT_EQ(bare.find("<p>hi</p><img"), 0U);
  EXPECT_EQ(TrackHtml("<p>hi", nullptr, ""), "<p>hi");
}

TEST(TrackHtml, DecodesCharacterReferences) {
  EXPECT_EQ(DecodeAttribute("a&amp;b&#38;c&#x26;d&lt;&quot;&unknown;"), "a&b&c&d<\"&unknown;");
  EXPECT_EQ(DecodeAttribute("&#233;"), "\xc3\xa9");
  EXPECT_EQ(DecodeAttribute("&#0;"), "\xef\xbf\xbd");
  // A value of nothing but '&' is read in one pass.
  const std::string ampersands(1 << 20, '&');
  EXPECT_EQ(DecodeAttribute(ampersands), ampersands);
}

TEST(TrackHtml, CleanUrl) {
  EXPECT_EQ(CleanUrl("https://a.example/\r\n\tx"), "https://a.example/x");
  EXPECT_EQ(CleanUrl("https://a.example/ x"), "");
  EXPECT_EQ(CleanUrl("https://a.example/caf\xc3\xa9"), "https://a.example/caf%C3%A9");
  EXPECT_EQ(CleanUrl(std::string("https://a.example/\x01", 19)), "");
}

// A tag that never ends, and odd attribute syntax, come through unchanged.
TEST(TrackHtml, MalformedHtmlSurvives) {
  std::vector<std::string> seen;
  for (const std::string html : {"<a href=\"https://x.example/", "<a href", "<a =x>", "<", "<a>",
                                 "<a href=\"https://x.example/\"", "<a\nhref\n=\n'https://x/'>"}) {
    const std::string out = TrackHtml(html, Wrap(&seen), "");
    if (html.find('>') == std::string::npos) {
      EXPECT_EQ(out, html);
    }
  }
  EXPECT_EQ(seen, std::vector<std::string>{"https://x/"});
}

}  // namespace
}  // namespace sluice::tracking
