// RFC 6152 §3 conversion to 7 bits; RFC 2045 §6.7 quoted-printable.
#include "message/downgrade.h"

#include <gtest/gtest.h>

namespace sluice::message {
namespace {

bool AllLinesWithin(const std::string& s, std::size_t n) {
  std::size_t pos = 0;
  while (pos < s.size()) {
    auto eol = s.find("\r\n", pos);
    std::size_t end = eol == std::string::npos ? s.size() : eol;
    if (end - pos > n) {
      return false;
    }
    pos = end + 2;
  }
  return true;
}

TEST(QuotedPrintable, Rfc2045Section6_7Rules) {
  // Rule 1/2: 8-bit octets and '=' encoded, printable ASCII kept.
  EXPECT_EQ(QuotedPrintable("caf\xc3\xa9 = ok\r\n"), "caf=C3=A9 =3D ok\r\n");
  // Rule 3: trailing space and tab encoded, inner ones kept.
  EXPECT_EQ(QuotedPrintable("a b \r\nc\t\r\n"), "a b=20\r\nc=09\r\n");
  // Hard line breaks stay; a final line without CRLF stays without.
  EXPECT_EQ(QuotedPrintable("x\r\n\r\ny"), "x\r\n\r\ny");
  // Bare CR and LF are data, not line breaks.
  EXPECT_EQ(QuotedPrintable("a\rb\nc\r\n"), "a=0Db=0Ac\r\n");
}

TEST(QuotedPrintable, Rfc2045Section6_7Rule5SoftBreaks) {
  std::string long_line(200, 'x');
  long_line += "\xe9";
  std::string out = QuotedPrintable(long_line + "\r\n");
  EXPECT_TRUE(AllLinesWithin(out, 76)) << out;
  std::string decoded;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out.compare(i, 3, "=\r\n") == 0) {
      i += 2;
    } else if (out.compare(i, 3, "=E9") == 0) {
      decoded += '\xe9';
      i += 2;
    } else {
      decoded += out[i];
    }
  }
  EXPECT_EQ(decoded, long_line + "\r\n");
  // Exactly 76 characters fit without a soft break.
  EXPECT_EQ(QuotedPrintable(std::string(76, 'y') + "\r\n"), std::string(76, 'y') + "\r\n");
}

TEST(Downgrade, SevenBitMessageIsUnchanged) {
  std::string m = "Subject: hi\r\nContent-Transfer-Encoding: 8bit\r\n\r\nplain\r\n";
  auto r = DowngradeTo7Bit(m);
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value(), m);
}

TEST(Downgrade, LeafBecomesQuotedPrintable) {
  auto r = DowngradeTo7Bit(
      "Subject: hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9\r\n");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r.value(),
            "Subject: hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n");
}

TEST(Downgrade, NonMimeMessageIsDeclared) {
  auto r = DowngradeTo7Bit("Subject: hi\r\n\r\n\xe9t\xe9\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value(),
            "Subject: hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=unknown-8bit\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n=E9t=E9\r\n");
}

// RFC 2046 §5.1.1: only the 8-bit part changes; delimiters, the 7-bit part,
// preamble and epilogue stay where they were.
TEST(Downgrade, Rfc2046MultipartPartsConvertedOneByOne) {
  std::string m =
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"b=1\"\r\n\r\n"
      "preamble\r\n"
      "--b=1\r\nContent-Type: text/plain\r\n\r\nascii\r\n"
      "--b=1\r\nContent-Type: text/plain; charset=latin1\r\nContent-Transfer-Encoding: 8bit\r\n"
      "\r\n\xe9\r\n"
      "--b=1--\r\nepilogue\r\n";
  auto r = DowngradeTo7Bit(m);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r.value(),
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"b=1\"\r\n\r\n"
            "preamble\r\n"
            "--b=1\r\nContent-Type: text/plain\r\n\r\nascii\r\n"
            "--b=1\r\nContent-Type: text/plain; charset=latin1\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n=E9\r\n"
            "--b=1--\r\nepilogue\r\n");
  EXPECT_FALSE(Has8Bit(r.value()));
}

TEST(Downgrade, NestedMessageRfc822) {
  auto r = DowngradeTo7Bit(
      "MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n"
      "\r\nSubject: inner\r\n\r\n\xe9\r\n");
  ASSERT_TRUE(r) << r.error();
  EXPECT_FALSE(Has8Bit(r.value()));
  EXPECT_NE(r.value().find("Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n"),
            std::string::npos)
      << r.value();
}

TEST(Downgrade, RefusesWhatOnlySmtpUtf8CouldCarry) {
  EXPECT_FALSE(DowngradeTo7Bit("Subject: caf\xc3\xa9\r\n\r\nbody\r\n"));
  EXPECT_FALSE(DowngradeTo7Bit("Subject: caf\xc3\xa9\r\n\r\nbody \xe9\r\n"));
  EXPECT_FALSE(DowngradeTo7Bit(
      "MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n\r\n\xe9\r\n"));
  EXPECT_FALSE(DowngradeTo7Bit("MIME-Version: 1.0\r\nContent-Type: message/global\r\n\r\n\xe9\r\n"));
}

TEST(Downgrade, DeepNestingIsBounded) {
  std::string m;
  for (int i = 0; i < 100; ++i) {
    m += "Content-Type: message/rfc822\r\n\r\n";
  }
  m += "\xe9\r\n";
  EXPECT_FALSE(DowngradeTo7Bit("MIME-Version: 1.0\r\n" + m));
}

}  // namespace
}  // namespace sluice::message
