#include "core/spool_id.h"

#include <set>

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(SpoolId, HexAndKeyRoundTrip) {
  SpoolId id(0x0102030405060708ull, 0x1112131415161718ull);
  EXPECT_EQ(id.Hex(), "01020304050607081112131415161718");
  EXPECT_EQ(SpoolId::FromHex(id.Hex()), id);
  auto k = id.Key();
  EXPECT_EQ(SpoolId::FromKey(std::string_view(k.data(), k.size())), id);
}

TEST(SpoolId, RejectsBadText) {
  EXPECT_FALSE(SpoolId::FromHex("0102").has_value());
  EXPECT_FALSE(SpoolId::FromHex(std::string(32, 'g')).has_value());
  EXPECT_FALSE(SpoolId::FromKey("short").has_value());
}

TEST(SpoolId, GeneratedIdsAreUniqueAndKeysSortByTime) {
  std::set<std::string> keys;
  SpoolId prev;
  for (int i = 0; i < 1000; ++i) {
    auto id = SpoolId::Generate();
    auto k = id.Key();
    EXPECT_TRUE(keys.insert(std::string(k.data(), k.size())).second);
    EXPECT_GE(id.micros(), prev.micros());
    prev = id;
  }
}

}  // namespace
}  // namespace sluice
