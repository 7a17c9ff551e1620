// The shipped bounce rules (etc/bounce.toml, built in) against a labelled set
// of real replies (tests/data/bounce_replies.tsv), and the rules file's checks.
#include "app/bounce_rules.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace sluice::app {
namespace {

std::shared_ptr<const bounce::Classifier> BuiltIn() {
  auto c = LoadBounceRules("");
  EXPECT_TRUE(c.ok()) << c.error();
  return c.ok() ? std::move(c).value() : nullptr;
}

TEST(BounceRules, EveryShippedRuleTakesItsOwnExample) {
  auto c = BuiltIn();
  ASSERT_TRUE(c);
  for (const auto& r : c->rules()) {
    ASSERT_FALSE(r.example.empty()) << r.name;
    auto parts = bounce::SplitReply(r.example);
    ASSERT_TRUE(parts) << r.name;
    EXPECT_EQ(c->Classify(parts->code, parts->enhanced, parts->text).rule, r.name) << r.example;
  }
}

// RFC 3463 classes and the providers' wording: each labelled reply gets its
// class and its hard/soft.
TEST(BounceRules, TheLabelledRepliesGetTheirClasses) {
  auto c = BuiltIn();
  ASSERT_TRUE(c);
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/tests/data/bounce_replies.tsv");
  ASSERT_TRUE(in) << "tests/data/bounce_replies.tsv";
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    std::istringstream fields(line);
    std::string klass, hardness, reply;
    std::getline(fields, klass, '\t');
    std::getline(fields, hardness, '\t');
    std::getline(fields, reply);
    auto parts = bounce::SplitReply(reply);
    ASSERT_TRUE(parts) << reply;
    auto v = c->Classify(parts->code, parts->enhanced, parts->text);
    EXPECT_EQ(v.klass, klass) << reply << " (rule " << v.rule << ")";
    EXPECT_EQ(v.hard ? "hard" : "soft", hardness) << reply << " (rule " << v.rule << ")";
    ++checked;
  }
  EXPECT_GE(checked, 80);
}

TEST(BounceRules, SplitReplyTakesTheEnhancedCodeWhenThereIsOne) {
  auto a = bounce::SplitReply("550-5.1.1 No such user\r\n");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, 550);
  EXPECT_EQ(a->enhanced, "5.1.1");
  EXPECT_EQ(a->text, "No such user");
  auto b = bounce::SplitReply("554 delivery error: dd");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->enhanced, "");
  EXPECT_EQ(b->text, "delivery error: dd");
  EXPECT_EQ(bounce::SplitReply("550 5.1.1")->enhanced, "5.1.1");
  EXPECT_FALSE(bounce::SplitReply("hello"));
  EXPECT_EQ(bounce::SplitReply("550 6.1.1 x")->enhanced, "");  // not a class RFC 3463 has
}

TEST(BounceRules, ABadRulesFileNamesTheRule) {
  auto bad_class = ParseBounceRules("[[rule]]\nname = \"a\"\nclass = \"oops\"\n", "t.toml");
  ASSERT_FALSE(bad_class.ok());
  EXPECT_NE(bad_class.error().find("t.toml:3: rule"), std::string::npos) << bad_class.error();
  auto bad_regex = ParseBounceRules("[[rule]]\nname = \"b\"\nclass = \"other\"\ntext = \"(\"\n",
                                    "t.toml");
  ASSERT_FALSE(bad_regex.ok());
  EXPECT_NE(bad_regex.error().find("bounce rule \"b\": text pattern"), std::string::npos)
      << bad_regex.error();
  auto twice = ParseBounceRules(
      "[[rule]]\nname = \"c\"\nclass = \"other\"\n[[rule]]\nname = \"c\"\nclass = \"other\"\n",
      "t.toml");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().find("used twice"), std::string::npos) << twice.error();
  auto enhanced = ParseBounceRules(
      "[[rule]]\nname = \"d\"\nclass = \"other\"\nenhanced = [\"5.x.1\"]\n", "t.toml");
  ASSERT_FALSE(enhanced.ok());
  auto unknown = ParseBounceRules("[[rule]]\nname = \"e\"\nclas = \"other\"\n", "t.toml");
  ASSERT_FALSE(unknown.ok());
}

TEST(BounceRules, TheFirstMatchingRuleWinsAndARuleMaySayHard) {
  auto c = ParseBounceRules(
      "[[rule]]\nname = \"first\"\nclass = \"policy\"\ncodes = [550]\ntext = 'blocked'\n"
      "hard = true\n"
      "[[rule]]\nname = \"second\"\nclass = \"spam-block\"\ntext = 'BLOCKED'\n"
      "case_sensitive = true\n",
      "t.toml");
  ASSERT_TRUE(c.ok()) << c.error();
  auto v = (*c)->Classify(550, "", "you are blocked");
  EXPECT_EQ(v.rule, "first");
  EXPECT_TRUE(v.hard);
  EXPECT_EQ((*c)->Classify(554, "", "you are blocked").rule, "");  // code 554, lower case
  EXPECT_EQ((*c)->Classify(554, "", "you are BLOCKED").rule, "second");
  EXPECT_EQ((*c)->Classify(554, "", "nothing").klass, "other");
}

}  // namespace
}  // namespace sluice::app
