// RFC 4616 PLAIN; RFC 4648 base64.
#include "auth/sasl.h"
#include "core/base64.h"

#include <gtest/gtest.h>

namespace sluice::auth {
namespace {

TEST(Sasl, Base64) {
  EXPECT_EQ(Base64Encode("Username:"), "VXNlcm5hbWU6");
  EXPECT_EQ(Base64Decode("UGFzc3dvcmQ6"), "Password:");
  EXPECT_FALSE(Base64Decode("not base64!").has_value());
  EXPECT_EQ(Base64Decode(""), "");
}

TEST(Sasl, Rfc4616Plain) {
  auto c = DecodePlain(Base64Encode(std::string("\0alice\0secret", 13)));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->authzid, "");
  EXPECT_EQ(c->authcid, "alice");
  EXPECT_EQ(c->password, "secret");
  auto z = DecodePlain(Base64Encode(std::string("admin\0alice\0pw", 14)));
  ASSERT_TRUE(z);
  EXPECT_EQ(z->authzid, "admin");
}

TEST(Sasl, PlainRejectsMalformed) {
  EXPECT_FALSE(DecodePlain(Base64Encode("alice")).has_value());
  EXPECT_FALSE(DecodePlain(Base64Encode(std::string("\0\0pw", 4))).has_value());
  EXPECT_FALSE(DecodePlain(Base64Encode(std::string("a\0b\0c\0d", 7))).has_value());
  EXPECT_FALSE(DecodePlain("%%%").has_value());
}

}  // namespace
}  // namespace sluice::auth
