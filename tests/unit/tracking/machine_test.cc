#include "tracking/machine.h"

#include <gtest/gtest.h>

namespace sluice::tracking {
namespace {

constexpr std::chrono::seconds kSoon{10};
constexpr std::string_view kBrowser =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

TEST(Machine, FlagsWhatIsNotAPerson) {
  EXPECT_EQ(MachineReason({"GET", kBrowser, 1000, 2000}, kSoon), "");
  EXPECT_EQ(MachineReason({"HEAD", kBrowser, 1000, 2000}, kSoon), "head-request");
  EXPECT_EQ(MachineReason({"GET", "", 1000, 2000}, kSoon), "no-user-agent");
  EXPECT_EQ(
      MachineReason({"GET", "Mozilla/5.0 (via ggpht.com GoogleImageProxy)", 1000, 2000}, kSoon),
      "image-proxy");
  EXPECT_EQ(MachineReason({"GET", "Barracuda Sentinel (EE)", 1000, 2000}, kSoon), "link-scanner");
  EXPECT_EQ(MachineReason({"GET", "Slackbot-LinkExpanding 1.0", 1000, 2000}, kSoon), "preview");
  EXPECT_EQ(MachineReason({"GET", "curl/7.88.1", 1000, 2000}, kSoon), "script");
  EXPECT_EQ(MachineReason({"GET", "python-requests/2.28", 1000, 2000}, kSoon), "script");
  // Within seconds of sending: a filter, not a reader.
  EXPECT_EQ(MachineReason({"GET", kBrowser, 1000, 1003}, kSoon), "too-soon");
  EXPECT_EQ(MachineReason({"GET", kBrowser, 1000, 1010}, kSoon), "");
}

}  // namespace
}  // namespace sluice::tracking
