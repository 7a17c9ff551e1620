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

// RFC 1847: signed or encrypted content is never touched; nor is HTML in a
// charset where ASCII markup cannot be read or written as it is.
TEST(Track, SignedPartsAndOddCharsetsAreLeft) {
  const std::string html = "<a href=\"https://x.example/\">x</a>";
  const std::string signed_message =
      "Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/html\r\n\r\n" +
      html +
      "\r\n--b\r\n"
      "Content-Type: application/pgp-signature\r\n\r\nSIG\r\n--b--\r\n";
  EXPECT_EQ(Track(signed_message, Base(), true, true, kSettings), signed_message);
  const std::string utf16 = "Content-Type: text/html; charset=\"UTF-16\"\r\n\r\n" + html;
  EXPECT_EQ(Track(utf16, Base(), true, true, kSettings), utf16);
  const std::string latin1 = "Content-Type: text/html; charset=iso-8859-1\r\n\r\n" + html;
  EXPECT_NE(Track(latin1, Base(), true, true, kSettings), latin1);
}

// RFC 2045 §6.7: whitespace before a soft line break is not text.
TEST(Track, QuotedPrintableSoftBreaks) {
  EXPECT_EQ(message::QuotedPrintableDecode("ab=  \r\ncd=3D=\r\ne"), "abcd=e");
  EXPECT_EQ(message::QuotedPrintableDecode("a=\r\n"), "a");
  EXPECT_EQ(message::QuotedPrintableDecode("a=4"), "a=4");
  EXPECT_EQ(message::QuotedPrintableDecode("x=ZZ"), "x=ZZ");
}

}  // namespace
}  // namespace sluice::tracking
