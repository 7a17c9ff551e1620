#include "suppression/csv.h"

#include <gtest/gtest.h>

#include "core/time_format.h"

namespace sluice::suppression {
namespace {

using namespace std::chrono_literals;
const auto kNow = std::chrono::system_clock::time_point(1'800'000'000s);

Entry Defaults() {
  Entry d;
  d.reason = Reason::kManual;
  d.source = "import";
  return d;
}

TEST(SuppressionCsv, ExportLineReadsBackTheSame) {
  Entry e;
  e.address = "a@example.com";
  e.scope = {"acme", "spring"};
  e.reason = Reason::kComplaint;
  e.created = kNow;
  e.expires = kNow + 72h;
  e.source = "0123";
  e.detail = "abuse, \"quoted\"";
  const std::string line = ToCsv(e);
  CsvReader r(Defaults(), kNow + 1h);
  ASSERT_FALSE(r.Line(kCsvHeader)->has_value());
  auto got = r.Line(line);
  ASSERT_TRUE(got.ok()) << got.error();
  ASSERT_TRUE(got->has_value());
  const Entry& g = **got;
  EXPECT_EQ(g.address, e.address);
  EXPECT_EQ(g.scope, e.scope);
  EXPECT_EQ(g.reason, e.reason);
  EXPECT_EQ(g.created, e.created);
  EXPECT_EQ(g.expires, e.expires);
  EXPECT_EQ(g.source, e.source);
  EXPECT_EQ(g.detail, e.detail);
}

// Found by fuzzing: "#a@b" is an address, and a line that starts with it is
// not a comment when it comes back.
TEST(SuppressionCsv, AnAddressThatLooksLikeACommentReadsBack) {
  Entry e;
  e.address = "#mpa@x.example";
  const std::string line = ToCsv(e);
  EXPECT_EQ(line.front(), '"');
  CsvReader r(Defaults(), kNow);
  auto got = r.Line(line);
  ASSERT_TRUE(got.ok()) << got.error();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->address, "#mpa@x.example");
}

TEST(SuppressionCsv, BareAddressesTakeTheDefaults) {
  Entry d = Defaults();
  d.scope = {"acme", ""};
  d.reason = Reason::kUnsubscribe;
  CsvReader r(d, kNow);
  auto got = r.Line("User@Example.COM\r");
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_EQ((*got)->address, "user@example.com");
  EXPECT_EQ((*got)->scope, d.scope);
  EXPECT_EQ((*got)->reason, Reason::kUnsubscribe);
  EXPECT_EQ((*got)->created, kNow);
  EXPECT_EQ((*got)->source, "import");
}

TEST(SuppressionCsv, HeaderNamesTheColumnsItHas) {
  CsvReader r(Defaults(), kNow);
  ASSERT_FALSE(r.Line("# exported from elsewhere")->has_value());
  ASSERT_FALSE(r.Line("address,note,reason")->has_value());
  auto got = r.Line("x@example.com,some note,hard-bounce");
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_EQ((*got)->reason, Reason::kHardBounce);
  EXPECT_EQ((*got)->detail, "");
}

TEST(SuppressionCsv, HeaderMustStartWithAddressElsePositional) {
  CsvReader r(Defaults(), kNow);
  ASSERT_FALSE(r.Line("Address,Reason,Note")->has_value());
  auto got = r.Line("x@example.com,complaint,ignored text");
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_EQ((*got)->reason, Reason::kComplaint);
  EXPECT_EQ((*got)->detail, "");
}

TEST(SuppressionCsv, BadLinesSayWhy) {
  CsvReader r(Defaults(), kNow);
  EXPECT_NE(r.Line("not-an-address").error().find("not an address"), std::string::npos);
  EXPECT_NE(r.Line("a@example.com,spam").error().find("reason"), std::string::npos);
  EXPECT_NE(r.Line("a@example.com,manual,,spring").error().find("tenant"), std::string::npos);
  EXPECT_NE(r.Line("a@example.com,manual,bad tenant").error().find("tenant"), std::string::npos);
  EXPECT_NE(r.Line("a@example.com,manual,,,yesterday").error().find("RFC 3339"), std::string::npos);
  EXPECT_NE(r.Line("\"a@example.com").error().find("quoted"), std::string::npos);
  EXPECT_TRUE(r.Line("").ok());
}

TEST(SuppressionCsv, SplitFollowsRfc4180Quoting) {
  auto f = SplitCsv(R"(a,"b,c","d""e", f )");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, (std::vector<std::string>{"a", "b,c", "d\"e", "f"}));
}

}  // namespace
}  // namespace sluice::suppression
