// RFC 5321 §4.2.1 reply lines; RFC 2034 §4 enhanced codes on every line.
#include "smtp/proto/reply.h"

#include <gtest/gtest.h>

namespace sluice::smtp {
namespace {

TEST(Reply, SingleLineWithEnhancedCode) {
  EXPECT_EQ(Format({250, "2.1.0", "Ok"}), "250 2.1.0 Ok\r\n");
}

TEST(Reply, MultiLineUsesHyphenOnAllButLast) {
  EXPECT_EQ(Format({250, "", "mx.test Hello\nPIPELINING\nSIZE 100"}),
            "250-mx.test Hello\r\n250-PIPELINING\r\n250 SIZE 100\r\n");
}

TEST(Reply, MultiLineRepeatsEnhancedCode) {
  EXPECT_EQ(Format({550, "5.7.1", "first\nsecond"}), "550-5.7.1 first\r\n550 5.7.1 second\r\n");
}

TEST(Reply, EmptyTextForAuthChallenge) {
  EXPECT_EQ(Format({334, "", ""}), "334 \r\n");
}

TEST(Reply, Classes) {
  EXPECT_TRUE((Reply{250, "", ""}).IsPositive());
  EXPECT_TRUE((Reply{354, "", ""}).IsPositive());
  EXPECT_TRUE((Reply{451, "", ""}).IsTransient());
  EXPECT_TRUE((Reply{554, "", ""}).IsPermanent());
}

}  // namespace
}  // namespace sluice::smtp
