#include "core/crc32c.h"

#include <string>

#include <gtest/gtest.h>

namespace sluice {
namespace {

// RFC 3720 appendix B.4: the CRC-32C check values.
TEST(Crc32c, Rfc3720AppendixB4Vectors) {
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) {
    ascending += static_cast<char>(i);
  }
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
}

TEST(Crc32c, ExtendsInPieces) {
  EXPECT_EQ(Crc32c("6789", Crc32c("12345")), Crc32c("123456789"));
  // Long and unaligned (the eight-octet steps and the tail).
  std::string text;
  for (int i = 0; i < 1000; ++i) {
    text += static_cast<char>(i * 7 + 3);
  }
  std::uint32_t pieces = 0;
  for (std::size_t at = 0; at < text.size(); at += 13) {
    pieces = Crc32c(std::string_view(text).substr(at, 13), pieces);
  }
  EXPECT_EQ(pieces, Crc32c(text));
}

}  // namespace
}  // namespace sluice
