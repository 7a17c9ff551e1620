#include "tracking/track.h"

#include <gtest/gtest.h>

#include "core/base64.h"
#include "message/html_parts.h"

namespace sluice::tracking {
namespace {

const Settings kSettings{"https://t.example", "secret", "https://u.example/u/"};

Hit Base() {
  Hit h;
  h.id = SpoolId::Generate();
  h.recipient = "ann@example.com";
  h.tenant = "acme";
  h.sent = 1796601600;
  return h;
}

std::string TokenAfter(const std::string& text, const std::string& prefix) {
  const auto at = text.find(prefix);
  if (at == std::string::npos) {
    return "";
  }
  const auto start = at + prefix.size();
  const auto end = text.find('"', start);
  return text.substr(start, end - start);
}

TEST(Track, QuotedPrintableHtmlInAlternative) {
  const std::string message =
      "From: a@src.example\r\nTo: ann@example.com\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"
      "--b1\r\nContent-Type: text/plain\r\n\r\nSee https://shop.example/\r\n"
      "--b1\r\nContent-Type: text/html; charset=utf-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
      "<html><body><a href=3D\"https://shop.example/sale?a=3D1&amp;b=3D2\">Sale</a>=\r\n"
      " <a href=3D\"https://u.example/u/tok\">unsubscribe</a></body></html>\r\n"
      "--b1--\r\n";
  bool changed = false;
  const std::string out = Track(message, Base(), true, true, kSettings, &changed);
  EXPECT_TRUE(changed);
  // The text part is as it was.
  EXPECT_NE(out.find("--b1\r\nContent-Type: text/plain\r\n\r\nSee https://shop.example/\r\n"),
            std::string::npos);
  const std::string html = message::QuotedPrintableDecode(out.substr(out.find("text/html")));
  const std::string click = TokenAfter(html, "href=\"https://t.example/t/c/");
  ASSERT_FALSE(click.empty()) << html;
  auto hit = Decode(click, "secret");
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->kind, Kind::kClick);
  EXPECT_EQ(hit->url, "https://shop.example/sale?a=1&b=2");
  EXPECT_EQ(hit->recipient, "ann@example.com");
  // The unsubscribe link is left alone; the pixel is in.
  EXPECT_NE(html.find("href=\"https://u.example/u/tok\""), std::string::npos);
  auto open = Decode(TokenAfter(html, "src=\"https://t.example/t/o/"), "secret");
  ASSERT_TRUE(open);
  EXPECT_EQ(open->kind, Kind::kOpen);
  EXPECT_TRUE(out.ends_with("\r\n--b1--\r\n"));
}

TEST(Track, Base64HtmlStaysBase64) {
  const std::string html = "<a href=\"https://shop.example/\">x</a>";
  const std::string message =
      "Content-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n" + Base64Encode(html) +
      "\r\n";
  const std::string out = Track(message, Base(), false, true, kSettings);
  const auto body = out.substr(out.find("\r\n\r\n") + 4);
  std::string compact;
  for (char c : body) {
    if (c != '\r' && c != '\n') {
      compact += c;
    }
  }
  auto decoded = Base64Decode(compact);
  ASSERT_TRUE(decoded);
  EXPECT_NE(decoded->find("href=\"https://t.example/t/c/"), std::string::npos) << *decoded;
  EXPECT_EQ(decoded->find("<img"), std::string::npos);  // opens not asked
}

// A 7bit part whose lines would pass 998 octets becomes quoted-printable.
TEST(Track, LongLinesBecomeQuotedPrintable) {
  std::string html;
  for (int i = 0; i < 12; ++i) {
    html += "<a href=\"https://shop.example/" + std::to_string(i) + "\">x</a>";
  }
  const std::string message = "Content-Type: text/html\r\n\r\n" + html + "\r\n";
  const std::string out = Track(message, Base(), true, true, kSettings);
  EXPECT_NE(out.find("Content-Transfer-Encoding: quoted-printable\r\n"), std::string::npos);
  for (std::size_t at = 0, next; (next = out.find("\r\n", at)) != std::string::npos;
       at = next + 2) {
    EXPECT_LE(next - at, 998U);
  }
}

TEST(Track, PlainTextAndAttachmentsAreLeft) {
  const std::string plain = "Subject: x\r\n\r\n<a href=\"https://x.example/\">x</a>\r\n";
  bool changed = true;
  EXPECT_EQ(Track(plain, Base(), true, true, kSettings, &changed), plain);
  EXPECT_FALSE(changed);
  const std::string attached =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
      "Content-Type: text/html\r\nContent-Disposition: attachment; filename=a.html\r\n\r\n"
      "<a href=\"https://x.example/\">x</a>\r\n--b--\r\n";
  EXPECT_EQ(Track(attached, Base(), true, true, kSettings), attached);
}

}  // namespace
}  // namespace sluice::tracking
