// RFC 5321 §4.1 command forms, valid and malformed, with their extension parameters.
#include "smtp/proto/command.h"

#include <gtest/gtest.h>

namespace sluice::smtp {
namespace {

struct ValidCase {
  const char* line;
  Verb verb;
  const char* path;  // Address::ToString() for MAIL/RCPT, else the argument
};

class ValidCommand : public ::testing::TestWithParam<ValidCase> {};

TEST_P(ValidCommand, Parses) {
  const auto& c = GetParam();
  auto r = ParseCommand(c.line);
  ASSERT_TRUE(r.ok()) << c.line << ": " << r.error().detail;
  EXPECT_EQ(r->verb, c.verb) << c.line;
  if (c.verb == Verb::kMail || c.verb == Verb::kRcpt) {
    EXPECT_EQ(r->path.ToString(), c.path) << c.line;
  } else {
    EXPECT_EQ(r->arg, c.path) << c.line;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rfc5321Section4_1, ValidCommand,
    ::testing::Values(
        ValidCase{"EHLO client.example.com", Verb::kEhlo, "client.example.com"},
        ValidCase{"ehlo [192.0.2.1]", Verb::kEhlo, "[192.0.2.1]"},
        ValidCase{"HELO client", Verb::kHelo, "client"},
        ValidCase{"MAIL FROM:<a@example.com>", Verb::kMail, "a@example.com"},
        ValidCase{"mail from:<a@example.com>", Verb::kMail, "a@example.com"},
        ValidCase{"MAIL FROM:<>", Verb::kMail, ""},
        ValidCase{"MAIL FROM: <a@example.com>", Verb::kMail, "a@example.com"},
        ValidCase{"MAIL FROM:a@example.com", Verb::kMail, "a@example.com"},
        ValidCase{"MAIL FROM:<@relay.example,@r2.example:a@example.com>", Verb::kMail,
                  "a@example.com"},
        ValidCase{"MAIL FROM:<\"john doe\"@example.com>", Verb::kMail, "\"john doe\"@example.com"},
        ValidCase{"MAIL FROM:<\"a\\\"b\"@example.com>", Verb::kMail, "\"a\\\"b\"@example.com"},
        ValidCase{"MAIL FROM:<a@[192.0.2.1]>", Verb::kMail, "a@[192.0.2.1]"},
        ValidCase{"MAIL FROM:<a@[IPv6:2001:db8::1]>", Verb::kMail, "a@[IPv6:2001:db8::1]"},
        ValidCase{"RCPT TO:<b@example.org>", Verb::kRcpt, "b@example.org"},
        ValidCase{"RCPT TO:<Postmaster>", Verb::kRcpt, "Postmaster"},
        ValidCase{"RCPT TO:<postmaster@example.org>", Verb::kRcpt, "postmaster@example.org"},
        ValidCase{"DATA", Verb::kData, ""}, ValidCase{"RSET", Verb::kRset, ""},
        ValidCase{"NOOP", Verb::kNoop, ""}, ValidCase{"NOOP anything", Verb::kNoop, "anything"},
        ValidCase{"QUIT", Verb::kQuit, ""}, ValidCase{"HELP", Verb::kHelp, ""},
        ValidCase{"HELP MAIL", Verb::kHelp, "MAIL"}, ValidCase{"VRFY smith", Verb::kVrfy, "smith"},
        ValidCase{"EXPN staff", Verb::kExpn, "staff"}, ValidCase{"STARTTLS", Verb::kStartTls, ""},
        ValidCase{"AUTH PLAIN AGFsaWNlAHNlY3JldA==", Verb::kAuth, "PLAIN AGFsaWNlAHNlY3JldA=="},
        ValidCase{"QUIT  ", Verb::kQuit, ""}));

struct InvalidCase {
  const char* line;
  CommandError error;
  int code;
};

class InvalidCommand : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidCommand, IsRejectedWithTheRightReply) {
  const auto& c = GetParam();
  auto r = ParseCommand(c.line);
  ASSERT_FALSE(r.ok()) << c.line;
  EXPECT_EQ(r.error().error, c.error) << c.line;
  EXPECT_EQ(ReplyFor(r.error()).code, c.code) << c.line;
}

INSTANTIATE_TEST_SUITE_P(
    Rfc5321Section4_1, InvalidCommand,
    ::testing::Values(
        InvalidCase{"", CommandError::kUnknownCommand, 500},
        InvalidCase{"FOO bar", CommandError::kUnknownCommand, 500},
        InvalidCase{"EHLO", CommandError::kSyntax, 501},
        InvalidCase{"MAIL <a@example.com>", CommandError::kSyntax, 501},
        InvalidCase{"MAIL FROM:", CommandError::kBadSender, 501},
        InvalidCase{"MAIL FROM:<a@example.com", CommandError::kBadSender, 501},
        InvalidCase{"MAIL FROM:<a@@example.com>", CommandError::kBadSender, 501},
        InvalidCase{"MAIL FROM:<.a@example.com>", CommandError::kBadSender, 501},
        InvalidCase{"MAIL FROM:<a..b@example.com>", CommandError::kBadSender, 501},
        InvalidCase{"MAIL FROM:<a@-example.com>", CommandError::kBadSender, 501},
        InvalidCase{"MAIL FROM:<a@exa_mple.com>", CommandError::kBadSender, 501},
        InvalidCase{"MAIL FROM:<a@[300.1.1.1]>", CommandError::kBadSender, 501},
        InvalidCase{"MAIL FROM:<a@example.com>junk", CommandError::kSyntax, 501},
        InvalidCase{"RCPT TO:<>", CommandError::kBadRecipient, 501},
        // RFC 6531 §3.3: malformed UTF-8 is refused, whether SMTPUTF8 was asked for or not.
        InvalidCase{"MAIL FROM:<\xFF\xFE@example.com> SMTPUTF8", CommandError::kBadUtf8, 553},
        InvalidCase{"MAIL FROM:<a\xC0\xAF@example.com> SMTPUTF8", CommandError::kBadUtf8, 553},
        InvalidCase{"RCPT TO:<\xED\xA0\x80@example.com>", CommandError::kBadUtf8, 553},
        InvalidCase{"RCPT TO:<nobody>", CommandError::kBadRecipient, 501},
        InvalidCase{"RCPT FROM:<a@example.com>", CommandError::kSyntax, 501},
        InvalidCase{"DATA now", CommandError::kSyntax, 501},
        InvalidCase{"STARTTLS please", CommandError::kSyntax, 501},
        InvalidCase{"VRFY", CommandError::kSyntax, 501},
        InvalidCase{"BDAT", CommandError::kSyntax, 501},
        InvalidCase{"BDAT -1", CommandError::kSyntax, 501},
        InvalidCase{"BDAT 10 FIRST", CommandError::kSyntax, 501},
        InvalidCase{"BDAT 99999999999999999999999", CommandError::kSyntax, 501},
        InvalidCase{"AUTH", CommandError::kSyntax, 501},
        InvalidCase{"MAIL FROM:<a@example.com> SIZE=abc", CommandError::kBadParameter, 501},
        InvalidCase{"MAIL FROM:<a@example.com> SIZE=1 SIZE=2", CommandError::kBadParameter, 501},
        InvalidCase{"MAIL FROM:<a@example.com> BODY=BINARYMIME", CommandError::kUnknownParameter,
                    555},
        InvalidCase{"MAIL FROM:<a@example.com> RET=ALL", CommandError::kBadParameter, 501},
        InvalidCase{"MAIL FROM:<a@example.com> SMTPUTF8=yes", CommandError::kBadParameter, 501},
        InvalidCase{"MAIL FROM:<a@example.com> ENVID=a+ZZ", CommandError::kBadParameter, 501},
        InvalidCase{"MAIL FROM:<a@example.com> XFOO=1", CommandError::kUnknownParameter, 555},
        InvalidCase{"RCPT TO:<b@example.org> NOTIFY=NEVER,SUCCESS", CommandError::kBadParameter,
                    501},
        InvalidCase{"RCPT TO:<b@example.org> NOTIFY=SOMETIMES", CommandError::kBadParameter, 501},
        // RFC 3461 §4.2, §4.4: no control characters hidden in xtext.
        InvalidCase{"RCPT TO:<b@example.org> ORCPT=rfc822;x+0D+0AX-Evil:+20y",
                    CommandError::kBadParameter, 501},
        InvalidCase{"MAIL FROM:<a@example.com> ENVID=a+0Ab", CommandError::kBadParameter, 501},
        InvalidCase{"RCPT TO:<b@example.org> ORCPT=b@example.org", CommandError::kBadParameter,
                    501},
        InvalidCase{"RCPT TO:<b@example.org> SIZE=10", CommandError::kUnknownParameter, 555}));

TEST(CommandParser, RejectsNulInLine) {
  auto r = ParseCommand(std::string_view("NOOP \0x", 7));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().error, CommandError::kSyntax);
}

// RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8, RFC 3461 §4.3/§4.4 RET and ENVID.
TEST(CommandParser, MailParameters) {
  auto r = ParseCommand(
      "MAIL FROM:<a@example.com> SIZE=12345 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ+2B314 "
      "AUTH=<>");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->mail.size, 12345u);
  EXPECT_EQ(r->mail.body, BodyType::k8BitMime);
  EXPECT_TRUE(r->mail.smtputf8);
  EXPECT_EQ(r->mail.ret, DsnRet::kHeaders);
  EXPECT_EQ(r->mail.envid, "QQ+314");
  EXPECT_FALSE(r->mail.requiretls);
}

// RFC 8689 §3: REQUIRETLS, no value, once.
TEST(CommandParser, RequireTls) {
  auto r = ParseCommand("MAIL FROM:<a@example.com> REQUIRETLS");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->mail.requiretls);
  EXPECT_FALSE(ParseCommand("MAIL FROM:<a@example.com> REQUIRETLS=YES").ok());
  EXPECT_FALSE(ParseCommand("MAIL FROM:<a@example.com> REQUIRETLS REQUIRETLS").ok());
}

TEST(CommandParser, ParameterKeywordsAreCaseInsensitive) {
  auto r = ParseCommand("MAIL FROM:<a@example.com> size=10 body=7bit");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->mail.size, 10u);
  EXPECT_EQ(r->mail.body, BodyType::k7Bit);
}

// RFC 3461 §4.1 NOTIFY and §4.2 ORCPT.
TEST(CommandParser, RcptDsnParameters) {
  auto r =
      ParseCommand("RCPT TO:<b@example.org> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b+40example.org");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->rcpt.notify, kNotifySuccess | kNotifyDelay);
  EXPECT_EQ(r->rcpt.orcpt, "rfc822;b@example.org");
  auto never = ParseCommand("RCPT TO:<b@example.org> NOTIFY=NEVER");
  ASSERT_TRUE(never.ok());
  EXPECT_EQ(never->rcpt.notify, kNotifyNever);
}

// RFC 3030 §2: BDAT chunk-size [LAST].
TEST(CommandParser, Bdat) {
  auto r = ParseCommand("BDAT 1000");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bdat_size, 1000u);
  EXPECT_FALSE(r->bdat_last);
  auto last = ParseCommand("bdat 0 last");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->bdat_size, 0u);
  EXPECT_TRUE(last->bdat_last);
}

// RFC 6531 §3.3: UTF-8 mailboxes parse; the session decides whether SMTPUTF8 allows them.
TEST(CommandParser, Utf8MailboxIsFlagged) {
  auto r = ParseCommand("RCPT TO:<用户@例子.广告>");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_TRUE(r->path.utf8);
  EXPECT_EQ(r->path.ascii_domain, "xn--fsqu00a.xn--4rr70v");
}

TEST(Xtext, RoundTrip) {
  EXPECT_EQ(EncodeXtext("a+b=c d"), "a+2Bb+3Dc+20d");
  EXPECT_EQ(DecodeXtext("a+2Bb+3Dc+20d"), "a+b=c d");
  EXPECT_FALSE(DecodeXtext("a+2").has_value());
  EXPECT_FALSE(DecodeXtext("a+2b").has_value());  // hex digits are upper case
  EXPECT_FALSE(DecodeXtext("a=b").has_value());
}

}  // namespace
}  // namespace sluice::smtp
