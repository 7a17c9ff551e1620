#include "doctor/transport.h"

#include <gtest/gtest.h>

namespace sluice::doctor {
namespace {

// RFC 8460 §3
TEST(TlsRptRecord, ParsesRua) {
  auto r = ParseTlsRptRecord("v=TLSRPTv1; rua=mailto:a@example.com,https://r.example/tlsrpt");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, (std::vector<std::string>{"mailto:a@example.com", "https://r.example/tlsrpt"}));
  EXPECT_FALSE(ParseTlsRptRecord("rua=mailto:a@example.com; v=TLSRPTv1"));
  EXPECT_FALSE(ParseTlsRptRecord("v=TLSRPTv1;"));
  EXPECT_FALSE(ParseTlsRptRecord("v=TLSRPTv1; rua=http://r.example/"));
}

}  // namespace
}  // namespace sluice::doctor
