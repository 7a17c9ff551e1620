#include "tlsrpt/record.h"

#include <gtest/gtest.h>

namespace sluice::tlsrpt {
namespace {

// RFC 8460 §3
TEST(TlsRptRecord, ParsesRua) {
  auto r = ParseRecord("v=TLSRPTv1; rua=mailto:a@example.com,https://r.example/tlsrpt");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, (std::vector<std::string>{"mailto:a@example.com", "https://r.example/tlsrpt"}));
  EXPECT_FALSE(ParseRecord("rua=mailto:a@example.com; v=TLSRPTv1"));
  EXPECT_FALSE(ParseRecord("v=TLSRPTv1;"));
  EXPECT_FALSE(ParseRecord("v=TLSRPTv1; rua=http://r.example/"));
}

// RFC 8460 §3: only strings that start "v=TLSRPTv1" are records.
TEST(TlsRptRecord, PicksRecords) {
  const auto found =
      RecordsIn({"v=spf1 -all", " v=TLSRPTv1; rua=mailto:a@b.example", "v=TLSRPTv2; rua=x"});
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0], " v=TLSRPTv1; rua=mailto:a@b.example");
}

}  // namespace
}  // namespace sluice::tlsrpt
