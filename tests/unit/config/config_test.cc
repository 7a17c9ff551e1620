// Config errors name file, line and key.
#include "config/config.h"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

TEST(Config, TypedReadsWithDefaults) {
  auto doc = Document::Parse(
      "[a]\nname = \"x\"\ncount = 7\nflag = true\nwait = \"250ms\"\nsecs = 30\nbig = \"25MiB\"\n"
      "list = [\"p\", \"q\"]\n",
      "t.toml");
  auto a = doc->Root().Table("a");
  EXPECT_EQ(a.String("name", "d"), "x");
  EXPECT_EQ(a.String("missing", "d"), "d");
  EXPECT_EQ(a.Int("count", 0, 0, 10), 7);
  EXPECT_TRUE(a.Bool("flag", false));
  EXPECT_EQ(a.Duration("wait", {}), std::chrono::milliseconds(250));
  EXPECT_EQ(a.Duration("secs", {}), std::chrono::seconds(30));
  EXPECT_EQ(a.Size("big", 0), 25u << 20);
  EXPECT_EQ(a.StringList("list"), (std::vector<std::string>{"p", "q"}));
  EXPECT_TRUE(doc->errors().empty()) << doc->errors().ToString();
}

TEST(Config, ErrorsNameFileLineAndKey) {
  auto doc = Document::Parse("[server]\nthreads = \"two\"\n\n[spool]\nmin_free_disk = \"lots\"\n",
                             "sluice.toml");
  doc->Root().Table("server").Int("threads", 1, 1, 8);
  doc->Root().Table("spool").Size("min_free_disk", 0);
  ASSERT_EQ(doc->errors().list().size(), 2u);
  EXPECT_EQ(doc->errors().list()[0].ToString(),
            "sluice.toml:2: server.threads: expected an integer");
  EXPECT_EQ(doc->errors().list()[1].file, "sluice.toml");
  EXPECT_EQ(doc->errors().list()[1].line, 5u);
  EXPECT_EQ(doc->errors().list()[1].key, "spool.min_free_disk");
}

TEST(Config, RangeChecked) {
  auto doc = Document::Parse("n = 99\n", "t.toml");
  EXPECT_EQ(doc->Root().Int("n", 5, 1, 10), 5);
  ASSERT_EQ(doc->errors().list().size(), 1u);
  EXPECT_NE(doc->errors().list()[0].message.find("out of range"), std::string::npos);
}

TEST(Config, UnknownKeysAreReported) {
  auto doc = Document::Parse("[server]\nhostname = \"a\"\nhostnme = \"b\"\n", "t.toml");
  doc->Root().Table("server").RejectUnknown({"hostname"});
  ASSERT_EQ(doc->errors().list().size(), 1u);
  EXPECT_EQ(doc->errors().list()[0].ToString(), "t.toml:3: server.hostnme: unknown key");
}

TEST(Config, ArrayOfTablesPaths) {
  auto doc = Document::Parse("[[listener]]\nport = 1\n[[listener]]\nport = \"x\"\n", "t.toml");
  auto ls = doc->Root().Tables("listener");
  ASSERT_EQ(ls.size(), 2u);
  ls[1].Int("port", 0, 0, 65535);
  ASSERT_EQ(doc->errors().list().size(), 1u);
  EXPECT_EQ(doc->errors().list()[0].ToString(), "t.toml:4: listener[1].port: expected an integer");
}

TEST(Config, SyntaxErrorHasLine) {
  auto doc = Document::Parse("a = 1\nb = \n", "bad.toml");
  ASSERT_EQ(doc->errors().list().size(), 1u);
  EXPECT_EQ(doc->errors().list()[0].file, "bad.toml");
  EXPECT_EQ(doc->errors().list()[0].line, 2u);
}

TEST(Config, MissingFile) {
  auto doc = Document::LoadFile("/nonexistent/sluice.toml");
  ASSERT_EQ(doc->errors().list().size(), 1u);
  EXPECT_EQ(doc->errors().list()[0].file, "/nonexistent/sluice.toml");
}

TEST(Config, DurationAndSizeText) {
  EXPECT_EQ(ParseDuration("5m"), std::chrono::minutes(5));
  EXPECT_EQ(ParseDuration("2h"), std::chrono::hours(2));
  EXPECT_EQ(ParseDuration("1d"), std::chrono::hours(24));
  EXPECT_FALSE(ParseDuration("5 minutes").has_value());
  EXPECT_FALSE(ParseDuration("").has_value());
  EXPECT_EQ(ParseSize("10MB"), 10'000'000u);
  EXPECT_EQ(ParseSize("1GiB"), 1ull << 30);
  EXPECT_FALSE(ParseSize("1XB").has_value());
}

}  // namespace
}  // namespace sluice::config
