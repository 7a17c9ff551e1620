// Messages built from parts: fields encoded so nothing can inject another,
// MIME structure, line lengths.
#include "message/compose.h"

#include <gtest/gtest.h>

#include "core/base64.h"

namespace sluice::message {
namespace {

// RFC 2047 §2: an encoded word is at most 75 characters; split on characters.
TEST(Compose, NonAsciiTextBecomesShortEncodedWords) {
  const std::string subject(40, 'a');
  const std::string value = EncodeUnstructured(subject + "\xc3\xa9t\xc3\xa9 " + subject, 9);
  std::size_t start = 0;
  std::string decoded;
  while (start < value.size()) {
    const auto end = value.find("\r\n ", start);
    const std::string word = value.substr(start, end == std::string::npos ? end : end - start);
    ASSERT_LE(word.size(), 75u) << word;
    ASSERT_EQ(word.rfind("=?utf-8?B?", 0), 0u) << word;
    auto text = Base64Decode(word.substr(10, word.size() - 12));
    ASSERT_TRUE(text);
    decoded += *text;
    start = end == std::string::npos ? value.size() : end + 3;
  }
  EXPECT_EQ(decoded, subject + "\xc3\xa9t\xc3\xa9 " + subject);
}

// RFC 5322 §2.2.3: long ASCII values fold at whitespace.
TEST(Compose, LongAsciiValuesFold) {
  std::string words;
  for (int i = 0; i < 30; ++i) {
    words += "word" + std::to_string(i) + " ";
  }
  words.pop_back();
  const std::string v = EncodeUnstructured(words, 9);
  std::size_t col = 9;
  for (char c : v) {
    col = c == '\n' ? 0 : col + 1;
    EXPECT_LE(col, 80u);
  }
  std::string unfolded = v;
  for (auto p = unfolded.find("\r\n"); p != std::string::npos; p = unfolded.find("\r\n")) {
    unfolded.erase(p, 2);
  }
  EXPECT_EQ(unfolded, words);
}

TEST(Compose, DisplayNamesAreQuotedOrEncoded) {
  EXPECT_EQ(FormatMailbox({"a@x.example", ""}), "<a@x.example>");
  EXPECT_EQ(FormatMailbox({"a@x.example", "Ann Lee"}), "Ann Lee <a@x.example>");
  EXPECT_EQ(FormatMailbox({"a@x.example", "Lee, Ann \"AL\""}),
            "\"Lee, Ann \\\"AL\\\"\" <a@x.example>");
  EXPECT_EQ(FormatMailbox({"a@x.example", "Zo\xc3\xab"}), "=?utf-8?B?Wm/Dqw==?= <a@x.example>");
}

TEST(Compose, TextAndHtmlAreAlternativesAndAttachmentsFollow) {
  Composition c;
  c.from = {"n@s.example", "Shop"};
  c.to = {"a@x.example", ""};
  c.subject = "Hi";
  c.text = "plain\n";
  c.html = "<p>caf\xc3\xa9</p>";
  c.attachments.push_back(
      {"r\xc3\xa9sum\xc3\xa9.pdf", "application/pdf", std::string("%PDF\0\xff", 6)});
  const std::string m = Compose(c, "u1");
  EXPECT_EQ(m.rfind("From: Shop <n@s.example>\r\nTo: <a@x.example>\r\nSubject: Hi\r\n", 0), 0u)
      << m;
  EXPECT_NE(
      m.find("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=_mix_u1\"\r\n\r\n"),
      std::string::npos)
      << m;
  EXPECT_NE(m.find("Content-Type: multipart/alternative; boundary=\"=_alt_u1\""),
            std::string::npos);
  EXPECT_LT(m.find("text/plain"), m.find("text/html"));  // RFC 2046 §5.1.4: best last
  EXPECT_NE(m.find("Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>caf=C3=A9</p>"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("filename*=utf-8''r%C3%A9sum%C3%A9.pdf"), std::string::npos) << m;
  EXPECT_NE(m.find(Base64Encode(std::string("%PDF\0\xff", 6))), std::string::npos);
  EXPECT_NE(m.find("--=_mix_u1--\r\n"), std::string::npos);
  for (char ch : m) {
    ASSERT_LT(static_cast<unsigned char>(ch), 0x80) << "8-bit octet in a built message";
  }
}

}  // namespace
}  // namespace sluice::message
