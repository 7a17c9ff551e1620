// The inject body: what is taken, what is refused, and per-recipient reports.
#include "api/inject.h"

#include <gtest/gtest.h>

#include "message/compose.h"

namespace sluice::api {
namespace {

TEST(Inject, TakesRawContentWithItsEnvelope) {
  auto r = ParseInject(R"({"from": "a@src.example", "recipients": ["b@d.example",
      {"email": "c@d.example"}], "content": "Subject: x\n\nbody", "campaign": "spring"})",
                       "u");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->messages.size(), 1u);  // one message for every recipient
  const auto& m = r->messages[0];
  EXPECT_EQ(m.envelope.sender.ToString(), "a@src.example");
  ASSERT_EQ(m.envelope.recipients.size(), 2u);
  EXPECT_EQ(m.envelope.recipients[1].address.ToString(), "c@d.example");
  EXPECT_EQ(m.content, "Subject: x\r\n\r\nbody\r\n");  // CRLF, and a final line end
  EXPECT_EQ(r->campaign, "spring");
  EXPECT_TRUE(r->rejected.empty());
}

TEST(Inject, AnEmptyFromIsTheNullSender) {
  auto r = ParseInject(R"({"from": "", "recipients": ["b@d.example"], "content": "x"})", "u");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->messages.at(0).envelope.sender.IsNull());
}

TEST(Inject, AMalformedRecipientIsReportedAndTheOthersKept) {
  auto r = ParseInject(
      R"({"from": "a@src.example", "recipients": ["b@d.example", "nope", 7], "content": "x"})",
      "u");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->messages.at(0).envelope.recipients.size(), 1u);
  ASSERT_EQ(r->rejected.size(), 2u);
  EXPECT_EQ(r->rejected[0].recipient, "nope");
  EXPECT_EQ(r->rejected[1].recipient, "7");
}

TEST(Inject, RefusesWhatCannotBeSent) {
  for (const char* body : {
           "",
           "[]",
           "{\"from\": 1}",
           R"({"from": "a@s.example", "content": "x"})",
           R"({"from": "a@s.example", "recipients": [], "content": "x"})",
           R"({"from": "a@s.example", "recipients": "b@d.example", "content": "x"})",
           R"({"from": "a@s.example", "recipients": ["b@d.example"]})",
           R"({"from": "bad", "recipients": ["b@d.example"], "content": "x"})",
           R"({"from": "a@s.example", "recipients": ["b@d.example"], "content": "x", "Form": 1})",
           R"({"from": "a@s.example", "recipients": ["b@d.example"], "content": "x\u0000"})",
           R"({"from": "a@s.example", "recipients": ["b@d.example"], "content": "x",
               "campaign": "has space"})",
       }) {
    EXPECT_FALSE(ParseInject(body, "u")) << body;
  }
}

TEST(Inject, AtMostAThousandRecipients) {
  std::string many = R"({"from": "a@s.example", "content": "x", "recipients": [)";
  for (int i = 0; i < 1001; ++i) {
    many += (i ? "," : "") + std::string("\"r@d.example\"");
  }
  many += "]}";
  auto r = ParseInject(many, "u");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "too_many_recipients");
}

// RFC 5322 §2.3: lines end in CRLF, whatever the client sent.
TEST(Inject, LineEndsBecomeCrlf) {
  EXPECT_EQ(message::ToCrlfLines("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd\r\n");
  EXPECT_EQ(message::ToCrlfLines("\n\n"), "\r\n\r\n");
}

TEST(Inject, EightBitContentIsMarked) {
  auto r = ParseInject(R"({"from": "a@s.example", "recipients": ["b@d.example"],
      "content": "Subject: caf\u00e9\n\nx"})",
                       "u");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->messages.at(0).envelope.body, BodyType::k8BitMime);
}

TEST(Inject, PartsBuildOneMessagePerRecipientWithItsSubstitutions) {
  auto r = ParseInject(R"({"from": {"email": "news@shop.example", "name": "The Shop"},
      "subject": "Hello {{first}}", "text": "Dear {{first}} ({{email}}), from {{shop}}.",
      "html": "<p>{{first}}</p>", "substitutions": {"shop": "Shop & Co", "first": "friend"},
      "recipients": [{"email": "a@x.example", "name": "Ann", "substitutions": {"first": "Ann"}},
                     "b@y.example"]})",
                       "u");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->messages.size(), 2u);
  const auto& a = r->messages[0].content;
  EXPECT_NE(a.find("Subject: Hello Ann\r\n"), std::string::npos) << a;
  EXPECT_NE(a.find("To: Ann <a@x.example>\r\n"), std::string::npos) << a;
  EXPECT_NE(a.find("From: The Shop <news@shop.example>\r\n"), std::string::npos) << a;
  EXPECT_NE(a.find("Dear Ann (a@x.example), from Shop & Co."), std::string::npos) << a;
  EXPECT_NE(a.find("<p>Ann</p>"), std::string::npos) << a;
  EXPECT_NE(a.find("multipart/alternative"), std::string::npos);
  const auto& b = r->messages[1].content;
  EXPECT_NE(b.find("Subject: Hello friend\r\n"), std::string::npos) << b;
  EXPECT_EQ(r->messages[1].envelope.recipients.at(0).address.ToString(), "b@y.example");
  EXPECT_EQ(r->messages[1].envelope.sender.ToString(), "news@shop.example");
}

TEST(Inject, HtmlSubstitutionsAreEscapedAndTextOnesAreNot) {
  auto r = ParseInject(R"({"from": "n@s.example", "text": "{{v}}", "html": "{{v}}|{{{v}}}",
      "recipients": [{"email": "a@x.example", "substitutions": {"v": "<b>&"}}]})",
                       "u");
  ASSERT_TRUE(r) << r.error().message;
  const auto& c = r->messages.at(0).content;
  EXPECT_NE(c.find("\r\n\r\n<b>&\r\n"), std::string::npos) << c;
  EXPECT_NE(c.find("&lt;b&gt;&amp;|<b>&"), std::string::npos) << c;
}

TEST(Inject, PartsAreCheckedBeforeAnythingIsBuilt) {
  for (const char* body : {
           R"({"from": "n@s.example", "recipients": ["a@x.example"]})",  // no text or html
           R"({"from": "n@s.example", "text": "x", "content": "y", "recipients": ["a@x.example"]})",
           R"({"from": "n@s.example", "text": "{{#open}}", "recipients": ["a@x.example"]})",
           R"({"from": "n@s.example", "text": "x", "headers": {"Subject": "s"},
               "recipients": ["a@x.example"]})",
           R"({"from": "n@s.example", "text": "x", "headers": {"X-A": "one
Bcc: b@x"},
               "recipients": ["a@x.example"]})",
           R"({"from": "n@s.example", "text": "x", "attachments": [{"filename": "a",
               "content": "not base64!"}], "recipients": ["a@x.example"]})",
           R"({"from": "n@s.example", "text": "x", "attachments": [{"filename": "a",
               "content_type": "text", "content": "eA=="}], "recipients": ["a@x.example"]})",
       }) {
    EXPECT_FALSE(ParseInject(body, "u")) << body;
  }
}

// A short template cannot make an unbounded message.
TEST(Inject, RenderedSizeIsBounded) {
  std::string big(1 << 20, 'x');
  std::string tmpl;
  for (int i = 0; i < 200; ++i) {
    tmpl += "{{v}}";
  }
  const std::string body =
      R"({"from": "n@s.example", "text": ")" + tmpl +
      R"(", "recipients": [{"email": "a@x.example", "substitutions": {"v": ")" + big + R"("}}]})";
  auto r = ParseInject(body, "u");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "too_large");
}

}  // namespace
}  // namespace sluice::api
