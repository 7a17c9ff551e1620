// RFC 7489 §7.2 / Appendix C aggregate reports: several reporters' formats
// parse to the figures they state; hostile XML (entities, depth, size) and
// archives (bombs) are refused; the store keeps each report once and sums
// them per domain, source and reporter.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/base64.h"
#include "dmarc/aggregate.h"
#include "dmarc/intake.h"
#include "dmarc/store.h"
#include "dmarc/unpack.h"

namespace sluice::dmarc {
namespace {

namespace json = boost::json;

std::string Data(const std::string& name) {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/tests/data/dmarc/" + name, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_FALSE(s.str().empty()) << name;
  return s.str();
}

TEST(DmarcParse, GoogleReport) {
  auto r = ParseAggregate(Data("google.xml"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->org_name, "google.com");
  EXPECT_EQ(r->report_id, "4919472302514418519");
  EXPECT_EQ(r->begin, 1796515200);
  EXPECT_EQ(r->end, 1796601599);
  EXPECT_EQ(r->domain, "shop.example");
  EXPECT_EQ(r->p, "reject");
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(r->rows[0].source_ip, "127.0.0.71");
  EXPECT_EQ(r->rows[0].count, 1204u);
  EXPECT_TRUE(r->rows[0].Passed());
  ASSERT_EQ(r->rows[0].dkim_results.size(), 1u);
  EXPECT_EQ(r->rows[0].dkim_results[0].selector, "s2026");
  EXPECT_EQ(r->rows[1].disposition, "reject");
  EXPECT_FALSE(r->rows[1].Passed());
  EXPECT_EQ(r->rows[1].spf_results[0].result, "softfail");
}

TEST(DmarcParse, OutlookReportWithNamespacesIpv6AndOverrideReasons) {
  auto r = ParseAggregate(Data("outlook.xml"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->org_name, "Outlook.com");
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(r->rows[1].source_ip, "2001:db8:4:7::1b");
  EXPECT_EQ(r->rows[1].reasons, std::vector<std::string>{"forwarded"});
  EXPECT_EQ(r->rows[1].envelope_from, "lists.university.example");
  EXPECT_TRUE(r->rows[1].Passed());  // DKIM aligned and passing: SPF may fail
  EXPECT_EQ(r->rows[0].spf_results[0].scope, "mfrom");
}

TEST(DmarcParse, PrefixedElementsParseLikeUnprefixedOnes) {
  std::string xml = Data("yahoo.xml");
  std::string prefixed;
  for (std::size_t i = 0; i < xml.size(); ++i) {
    prefixed += xml[i];
    if (xml[i] == '<' && i + 1 < xml.size() && xml[i + 1] != '?') {
      if (xml[i + 1] == '/') {
        prefixed += '/';
        ++i;
      }
      prefixed += "d:";
    }
  }
  prefixed.replace(prefixed.find("<d:feedback>"), 12,
                   "<d:feedback xmlns:d=\"http://dmarc.org/dmarc-xml/0.1\">");
  auto r = ParseAggregate(prefixed);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->rows.at(0).count, 3u);
}

TEST(DmarcParse, BillionLaughsIsRefusedAtTheDoctype) {
  std::string xml = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">";
  for (int i = 1; i < 10; ++i) {
    xml += "<!ENTITY lol" + std::to_string(i) + " \"";
    for (int j = 0; j < 10; ++j) {
      xml += "&lol" + (i == 1 ? std::string() : std::to_string(i - 1)) + ";";
    }
    xml += "\">";
  }
  xml += "]><feedback><report_metadata><org_name>&lol9;</org_name></report_metadata></feedback>";
  auto r = ParseAggregate(xml);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("DOCTYPE"), std::string::npos) << r.error();
}

TEST(DmarcParse, ExternalEntitiesAreNeverFetched) {
  auto r = ParseAggregate(
      "<?xml version=\"1.0\"?><!DOCTYPE feedback [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
      "<feedback><report_metadata><org_name>&xxe;</org_name></report_metadata></feedback>");
  ASSERT_FALSE(r);
  auto r2 = ParseAggregate(
      "<feedback><report_metadata><org_name>&xxe;</org_name>"
      "</report_metadata></feedback>");
  EXPECT_FALSE(r2);  // an undeclared entity: not well-formed
}

TEST(DmarcParse, BoundsOnDepthSizeRecordsAndFields) {
  std::string deep = "<feedback>";
  for (int i = 0; i < 100; ++i)
    deep += "<a>";
  EXPECT_NE(ParseAggregate(deep).error().find("nested deeper"), std::string::npos);
  ParseLimits small;
  small.max_bytes = 100;
  EXPECT_NE(ParseAggregate(Data("google.xml"), small).error().find("larger than"),
            std::string::npos);
  ParseLimits one;
  one.max_records = 1;
  EXPECT_NE(ParseAggregate(Data("google.xml"), one).error().find("more than 1 records"),
            std::string::npos);
  std::string long_name = "<feedback><report_metadata><org_name>" + std::string(5000, 'x');
  EXPECT_NE(ParseAggregate(long_name).error().find("longer than"), std::string::npos);
}

TEST(DmarcParse, MalformedReportsSayWhy) {
  EXPECT_NE(ParseAggregate("<html></html>").error().find("not <feedback>"), std::string::npos);
  EXPECT_NE(ParseAggregate("<feedback><policy_published><domain>a.example</domain>"
                           "</policy_published></feedback>")
                .error()
                .find("org_name"),
            std::string::npos);
  std::string bad_ip = Data("yahoo.xml");
  bad_ip.replace(bad_ip.find("127.0.0.71"), 10, "not-an-ip!");
  EXPECT_NE(ParseAggregate(bad_ip).error().find("source_ip"), std::string::npos);
  EXPECT_NE(ParseAggregate("<feedback><unclosed>").error().find("not well-formed"),
            std::string::npos);
}

TEST(DmarcUnpack, GzipZipAndPlain) {
  auto gz = Unpack(Data("outlook.xml.gz"));
  ASSERT_TRUE(gz) << gz.error();
  EXPECT_EQ(*gz, Data("outlook.xml"));
  auto zip = Unpack(Data("google.zip"));
  ASSERT_TRUE(zip) << zip.error();
  EXPECT_EQ(*zip, Data("google.xml"));
  EXPECT_TRUE(Unpack(Data("yahoo.xml")));
  EXPECT_FALSE(Unpack("MZ\x90\x00 an executable"));
}

TEST(DmarcUnpack, BombsStopAtTheLimit) {
  for (const char* name : {"bomb.xml.gz", "bomb.zip"}) {
    auto r = Unpack(Data(name), 1u << 20);
    ASSERT_FALSE(r) << name;
    EXPECT_NE(r.error().find("more than"), std::string::npos) << r.error();
  }
  std::string truncated = Data("outlook.xml.gz");
  truncated.resize(truncated.size() / 2);
  EXPECT_FALSE(Unpack(truncated));
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("dmarc-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

TEST(DmarcStore, KeepsEachReportOnceAndSumsThem) {
  TempDir dir;
  auto store = Store::Open({.path = dir.path.string(), .retention = std::chrono::hours(24 * 30)});
  ASSERT_TRUE(store) << store.error();
  const std::int64_t now = 1796601600 + 3600;
  for (const char* name : {"google.xml", "outlook.xml", "yahoo.xml"}) {
    auto r = ParseAggregate(Data(name));
    ASSERT_TRUE(r);
    EXPECT_EQ((*store)->Add(*r, now).value(), Store::Added::kStored) << name;
  }
  EXPECT_EQ((*store)->Add(ParseAggregate(Data("google.xml")).value(), now).value(),
            Store::Added::kDuplicate);
  Query q;
  q.own = {"127.0.0.71"};
  auto v = json::parse((*store)->Summarize(q)).as_object();
  EXPECT_EQ(v["reports"].as_int64(), 3);
  auto& d = v["domains"].as_array().at(0).as_object();
  EXPECT_EQ(d["domain"].as_string(), "shop.example");
  // 1204 + 17 + 388 + 6 + 3 messages; 17 (spoofed) and 3 (ours, failing) fail.
  EXPECT_EQ(d["messages"].as_int64(), 1618);
  EXPECT_EQ(d["fail"].as_int64(), 20);
  EXPECT_EQ(d["own"].as_object()["messages"].as_int64(), 1595);
  EXPECT_EQ(d["own"].as_object()["fail"].as_int64(), 3);
  EXPECT_EQ(d["other"].as_object()["fail"].as_int64(), 17);
  EXPECT_EQ(d["dispositions"].as_object()["reject"].as_int64(), 20);
  bool spoofer = false;
  for (const auto& s : d["sources"].as_array()) {
    const auto& so = s.as_object();
    if (so.at("ip").as_string() == "203.0.113.45") {
      spoofer = true;
      EXPECT_FALSE(so.at("own").as_bool());
      EXPECT_EQ(so.at("fail").as_int64(), 17);
    }
  }
  EXPECT_TRUE(spoofer);
  EXPECT_EQ(d["reporters"].as_array().size(), 3u);
  // Outside the period asked: nothing.
  q.from = 1796601600;
  EXPECT_EQ(json::parse((*store)->Summarize(q)).as_object()["reports"].as_int64(), 0);
  q.from = 0;
  q.domain = "other.example";
  EXPECT_EQ(json::parse((*store)->Summarize(q)).as_object()["reports"].as_int64(), 0);
}

TEST(DmarcStore, OldReportsArePruned) {
  TempDir dir;
  auto store = Store::Open({.path = dir.path.string(), .retention = std::chrono::hours(24)});
  ASSERT_TRUE(store);
  auto google = ParseAggregate(Data("google.xml")).value();
  ASSERT_TRUE((*store)->Add(google, google.begin + 3600));
  // Two days later another report comes: the first is past its retention.
  auto yahoo = ParseAggregate(Data("yahoo.xml")).value();
  yahoo.begin += 2 * 86400;
  yahoo.end += 2 * 86400;
  ASSERT_TRUE((*store)->Add(yahoo, yahoo.begin + 3600));
  EXPECT_EQ(json::parse((*store)->Summarize({})).as_object()["reports"].as_int64(), 1);
  // And its id is forgotten with it: sent again, it is stored again.
  EXPECT_EQ((*store)->Add(google, yahoo.begin + 3600).value(), Store::Added::kStored);
}

std::string Mail(const std::vector<std::pair<std::string, std::string>>& attachments) {
  std::string m =
      "From: noreply-dmarc-support@google.com\r\nTo: dmarc@fb.shop.example\r\n"
      "Subject: Report domain: shop.example\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n"
      "Content-Type: text/plain\r\n\r\nThis is an aggregate report.\r\n";
  for (const auto& [name, bytes] : attachments) {
    std::string b64 = Base64Encode(bytes);
    std::string folded;
    for (std::size_t i = 0; i < b64.size(); i += 76) {
      folded += b64.substr(i, 76) + "\r\n";
    }
    m += "--b1\r\nContent-Type: application/octet-stream; name=\"" + name +
         "\"\r\nContent-Disposition: attachment; filename=\"" + name +
         "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + folded;
  }
  return m + "--b1--\r\n";
}

TEST(DmarcIntake, TakesEachAttachedReportForOurDomainsOnly) {
  TempDir dir;
  auto store = Store::Open({.path = dir.path.string()});
  ASSERT_TRUE(store);
  int seen = 0;
  Intake intake(**store, {}, {"shop.example"}, [&seen](const AggregateReport&) { ++seen; });
  auto t =
      intake.Take(Mail({{"google.com!shop.example!1796515200!1796601599.zip", Data("google.zip")},
                        {"outlook.xml.gz", Data("outlook.xml.gz")}}),
                  1796601600);
  EXPECT_EQ(t.reports, 2u);
  EXPECT_TRUE(t.problems.empty());
  EXPECT_EQ(seen, 2);
  std::string foreign = Data("yahoo.xml");
  foreign.replace(foreign.find("<domain>shop.example</domain>"), 29,
                  "<domain>victim.example</domain>");
  auto t2 =
      intake.Take(Mail({{"y.xml", foreign}, {"bomb.xml.gz", Data("bomb.xml.gz")}}), 1796601600);
  EXPECT_EQ(t2.reports, 0u);
  EXPECT_EQ(t2.problems.size(), 2u);
  EXPECT_EQ(intake.stats().stored, 2u);
  EXPECT_EQ(intake.stats().refused, 2u);
}

TEST(DmarcStore, RefusesPeriodsOutsideWhatIsKept) {
  TempDir dir;
  auto store = Store::Open({.path = dir.path.string(), .retention = std::chrono::hours(24 * 30)});
  ASSERT_TRUE(store);
  auto r = ParseAggregate(Data("google.xml")).value();
  EXPECT_FALSE((*store)->Refuse(r, r.end + 3600));
  EXPECT_TRUE((*store)->Refuse(r, r.begin + 31 * 86400));  // older than the retention
  EXPECT_TRUE((*store)->Refuse(r, r.begin - 3 * 86400));   // from the future
  r.end = r.begin + 40 * 86400;
  EXPECT_TRUE((*store)->Refuse(r, r.begin + 3600));  // not a reporting period
}

TEST(DmarcIntake, ADailyVolumeCapsWhatAnyoneCanStore) {
  TempDir dir;
  auto store = Store::Open({.path = dir.path.string()});
  ASSERT_TRUE(store);
  const std::string google = Data("google.xml");
  Intake intake(**store, {}, {"shop.example"}, {}, google.size() + 10);
  EXPECT_EQ(intake.Take(Mail({{"g.xml", google}}), 1796601600).reports, 1u);
  auto t = intake.Take(Mail({{"y.xml", Data("yahoo.xml")}}), 1796601600);
  EXPECT_EQ(t.reports, 0u);
  ASSERT_EQ(t.problems.size(), 1u);
  EXPECT_NE(t.problems[0].find("volume"), std::string::npos);
  // The next day, there is room again.
  EXPECT_EQ(intake.Take(Mail({{"y.xml", Data("yahoo.xml")}}), 1796601600 + 86400).reports, 1u);
}

}  // namespace
}  // namespace sluice::dmarc
