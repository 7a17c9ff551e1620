// RFC 5321 §4.1.1.4 end of data, §4.5.2 transparency, §4.5.3.1.6 line length;
// RFC 3030 BDAT chunk accounting.
#include "smtp/proto/data_decoder.h"

#include <gtest/gtest.h>

namespace sluice::smtp {
namespace {

struct Decoded {
  std::string out;
  std::size_t consumed = 0;
  bool done = false;
  DataError error = DataError::kNone;
};

Decoded DecodeAll(std::string_view in, DataLimits limits = {}) {
  DataDecoder d(limits);
  Decoded r;
  auto step = d.Feed(in, r.out);
  r.consumed = step.consumed;
  r.done = step.done;
  r.error = d.error();
  return r;
}

// Feeds one octet at a time: the decoder must be resumable anywhere.
Decoded DecodeBytewise(std::string_view in, DataLimits limits = {}) {
  DataDecoder d(limits);
  Decoded r;
  for (std::size_t i = 0; i < in.size(); ++i) {
    auto step = d.Feed(in.substr(i, 1), r.out);
    r.consumed += step.consumed;
    if (step.done || d.fatal()) {
      r.done = step.done;
      break;
    }
  }
  r.error = d.error();
  return r;
}

TEST(DataDecoder, EndsAtCrLfDotCrLf) {
  auto r = DecodeAll("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.out, "Subject: x\r\n\r\nbody\r\n");
  EXPECT_EQ(r.consumed, std::string_view("Subject: x\r\n\r\nbody\r\n.\r\n").size());
}

TEST(DataDecoder, EmptyMessage) {
  auto r = DecodeAll(".\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.out, "");
}

TEST(DataDecoder, Rfc5321Section4_5_2_RemovesStuffedDot) {
  auto r = DecodeAll("..leading\r\n...\r\n.x\r\n.\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.out, ".leading\r\n..\r\nx\r\n");
}

TEST(DataDecoder, DotInsideLineIsData) {
  auto r = DecodeAll("a.b\r\n .\r\n.\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.out, "a.b\r\n .\r\n");
}

TEST(DataDecoder, ResumableAtEveryOctet) {
  std::string in = "l1\r\n..l2\r\n\r\n.\r\n";
  auto whole = DecodeAll(in);
  auto bytewise = DecodeBytewise(in);
  EXPECT_TRUE(bytewise.done);
  EXPECT_EQ(bytewise.out, whole.out);
  EXPECT_EQ(bytewise.consumed, in.size());
}

// SMTP smuggling: only <CRLF>.<CRLF> ends data; bare LF / CR are fatal.
TEST(DataDecoder, SmugglingBareLfDotIsFatal) {
  auto r = DecodeAll("hello\n.\r\nMAIL FROM:<evil@x>\r\n");
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.error, DataError::kBareLf);
}

TEST(DataDecoder, SmugglingDotBareLfIsFatal) {
  auto r = DecodeAll("hello\r\n.\nMAIL FROM:<evil@x>\r\n");
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.error, DataError::kBareLf);
}

TEST(DataDecoder, SmugglingBareCrIsFatal) {
  auto r = DecodeAll("hello\r.\r\n");
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.error, DataError::kBareCr);
  auto r2 = DecodeAll("hello\r\n.\rX");
  EXPECT_EQ(r2.error, DataError::kBareCr);
}

TEST(DataDecoder, BareLfFatalEvenBytewise) {
  auto r = DecodeBytewise("ok\r\nbad\nline\r\n.\r\n");
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.error, DataError::kBareLf);
}

TEST(DataDecoder, TooBigConsumesToEndButStopsStoring) {
  auto r = DecodeAll("0123456789\r\n0123456789\r\n.\r\nNEXT", {.max_size = 15});
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.error, DataError::kTooBig);
  EXPECT_LE(r.out.size(), 15u);
  EXPECT_EQ(r.consumed, 27u);
}

TEST(DataDecoder, LineLimitCountsOctetsBeforeCrLf) {
  auto ok = DecodeAll("12345\r\n.\r\n", {.max_line_length = 5});
  EXPECT_EQ(ok.error, DataError::kNone);
  auto bad = DecodeAll("123456\r\n.\r\n", {.max_line_length = 5});
  EXPECT_TRUE(bad.done);
  EXPECT_EQ(bad.error, DataError::kLineTooLong);
}

// RFC 5321 §4.5.3.1.6: the limit does not count the transparency dot.
TEST(DataDecoder, StuffedDotDoesNotCountTowardsLineLength) {
  auto r = DecodeAll("..2345\r\n.\r\n", {.max_line_length = 5});
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.error, DataError::kNone);
  EXPECT_EQ(r.out, ".2345\r\n");
}

TEST(ChunkReader, TakesExactlyTheChunk) {
  ChunkReader r(1000);
  std::string out;
  r.BeginChunk(5);
  EXPECT_EQ(r.Feed("abc", out), 3u);
  EXPECT_FALSE(r.chunk_done());
  EXPECT_EQ(r.Feed("deQUIT\r\n", out), 2u);
  EXPECT_TRUE(r.chunk_done());
  EXPECT_EQ(out, "abcde");
  r.BeginChunk(0);
  EXPECT_TRUE(r.chunk_done());
  r.BeginChunk(3);
  EXPECT_EQ(r.Feed("\r\n.", out), 3u);
  EXPECT_EQ(out, "abcde\r\n.");  // BDAT data is raw: no unstuffing
  EXPECT_EQ(r.total(), 8u);
}

TEST(ChunkReader, OverLimitIsReadButDiscarded) {
  ChunkReader r(4);
  std::string out;
  r.BeginChunk(3);
  EXPECT_EQ(r.Feed("abc", out), 3u);
  EXPECT_FALSE(r.too_big());
  r.BeginChunk(3);
  EXPECT_EQ(r.Feed("def", out), 3u);
  EXPECT_TRUE(r.chunk_done());
  EXPECT_TRUE(r.too_big());
  EXPECT_EQ(r.total(), 6u);
  EXPECT_EQ(out, "abc");
}

}  // namespace
}  // namespace sluice::smtp
