// RFC 6376 §3.1: a rotation is a new selector, published before it signs.
// The doctor judges each configured key by where it stands in its window.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "doctor/doctor.h"
#include "support/txt_resolver.h"

namespace sluice::doctor {
namespace {

namespace asio = boost::asio;
using std::chrono::hours;
const auto kNow = std::chrono::system_clock::time_point(hours(24 * 20000));
constexpr auto kDay = hours(24);

struct Fixture {
  testing::TxtResolver dns;
  Options opts;
  Fixture() {
    opts.domain = "example.com";
    opts.now = kNow;
    opts.rotation_notice = 7 * kDay;
  }
  Selector Key(const std::string& selector, bool published) {
    auto key = dkim::PrivateKey::Generate(dkim::Algorithm::kEd25519Sha256).value();
    if (published) {
      dns.txt[selector + "._domainkey.example.com"] = {key.DnsRecord()};
    }
    return Selector{selector, "example.com", std::move(key), std::nullopt, std::nullopt};
  }
  std::map<std::string, Check> Run() {
    asio::io_context ioc;
    auto f = asio::co_spawn(ioc, doctor::Run(dns, opts), asio::use_future);
    ioc.run();
    std::map<std::string, Check> out;
    for (auto& c : f.get()) {
      out[c.name] = c;
    }
    return out;
  }
};

TEST(DkimRotation, NextKeyUnpublishedWithinNoticeFailsWithTheRecordToPublish) {
  Fixture f;
  f.opts.selectors.push_back(f.Key("s1", true));
  auto next = f.Key("s2", false);
  next.valid_from = kNow + 3 * kDay;
  const std::string record = next.key.DnsRecord();
  f.opts.selectors.push_back(std::move(next));
  auto checks = f.Run();
  EXPECT_EQ(checks["dkim s1"].status, Status::kPass);
  EXPECT_EQ(checks["dkim s2"].status, Status::kFail);
  EXPECT_NE(checks["dkim s2"].detail.find("in 3 days"), std::string::npos)
      << checks["dkim s2"].detail;
  EXPECT_NE(checks["dkim s2"].fix.find(record), std::string::npos);
}

TEST(DkimRotation, NextKeyUnpublishedBeforeTheNoticeOnlyWarns) {
  Fixture f;
  auto next = f.Key("s2", false);
  next.valid_from = kNow + 30 * kDay;
  f.opts.selectors.push_back(std::move(next));
  EXPECT_EQ(f.Run()["dkim s2"].status, Status::kWarn);
}

TEST(DkimRotation, NextKeyPublishedPassesAndSaysWhenItTakesOver) {
  Fixture f;
  auto next = f.Key("s2", true);
  next.valid_from = kNow + 3 * kDay;
  f.opts.selectors.push_back(std::move(next));
  auto c = f.Run()["dkim s2"];
  EXPECT_EQ(c.status, Status::kPass);
  EXPECT_NE(c.detail.find("next key"), std::string::npos) << c.detail;
}

TEST(DkimRotation, RetiredKeyIsInformationOnly) {
  Fixture f;
  auto old = f.Key("s0", false);
  old.valid_until = kNow - kDay;
  f.opts.selectors.push_back(std::move(old));
  EXPECT_EQ(f.Run()["dkim s0"].status, Status::kInfo);
}

TEST(DkimRotation, ActiveKeyUnpublishedFails) {
  Fixture f;
  auto k = f.Key("s1", false);
  k.valid_from = kNow - kDay;
  f.opts.selectors.push_back(std::move(k));
  auto c = f.Run()["dkim s1"];
  EXPECT_EQ(c.status, Status::kFail);
  EXPECT_FALSE(c.inconclusive);
}

TEST(DoctorChecks, TransientLookupFailuresAreInconclusive) {
  Fixture f;
  f.opts.selectors.push_back(f.Key("s1", true));
  f.dns.fail = true;  // every TXT lookup SERVFAILs
  auto checks = f.Run();
  for (const char* name : {"spf", "dkim s1", "dmarc"}) {
    EXPECT_TRUE(checks[name].inconclusive) << name;
    EXPECT_NE(checks[name].status, Status::kFail) << name;
  }
}

}  // namespace
}  // namespace sluice::doctor
