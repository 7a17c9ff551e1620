#include "events/log_files.h"

#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "events/events.h"

namespace sluice::events {
namespace {

class LogFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-log-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "events.jsonl").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::vector<std::string> AllLines() {
    std::vector<std::string> out;
    for (const auto& f : ListRotated(path_)) {
      EXPECT_TRUE(ReadLines(f, [&out](std::string_view l) { out.emplace_back(l); }));
    }
    EXPECT_TRUE(ReadLines(path_, [&out](std::string_view l) { out.emplace_back(l); }));
    return out;
  }
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(LogFilesTest, RotatesAtItsSizeIntoWholeCompressedFilesAndKeepsTheNewest) {
  LogOptions opts{.max_bytes = 4096, .keep = 3, .compress = true};
  std::vector<std::string> written;
  {
    auto sink = JsonlFileSink::Open(path_, opts);
    ASSERT_TRUE(sink) << sink.error();
    for (int i = 0; i < 200; ++i) {  // about six files' worth
      written.push_back("{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(100, 'x') +
                        "\"}");
      (*sink)->Write(written.back());
    }
    EXPECT_EQ((*sink)->stats().written, 200u);
  }  // the sink's worker finishes its files before it goes
  auto rotated = ListRotated(path_);
  ASSERT_EQ(rotated.size(), 3u);
  for (const auto& f : rotated) {
    EXPECT_EQ(f.substr(f.size() - 4), ".zst") << f;
    EXPECT_LE(std::filesystem::file_size(f), 4096u);
  }
  // The newest records, whole and in order, across the kept files and the current one.
  auto lines = AllLines();
  ASSERT_FALSE(lines.empty());
  ASSERT_LT(lines.size(), written.size());
  EXPECT_TRUE(std::equal(lines.begin(), lines.end(), written.end() - lines.size()));
  EXPECT_LE(std::filesystem::file_size(path_), 4096u);
}

TEST_F(LogFilesTest, WithoutCompressionAndKeepZeroEveryFileStays) {
  LogOptions opts{.max_bytes = 4096};
  {
    auto sink = JsonlFileSink::Open(path_, opts);
    ASSERT_TRUE(sink);
    for (int i = 0; i < 200; ++i) {
      (*sink)->Write("{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(60, 'y') + "\"}");
    }
  }
  auto rotated = ListRotated(path_);
  EXPECT_GE(rotated.size(), 3u);  // 16 KiB of records, 4 KiB files
  for (const auto& f : rotated) {
    EXPECT_NE(f.substr(f.size() - 4), ".zst");
  }
  auto lines = AllLines();
  ASSERT_EQ(lines.size(), 200u);
  EXPECT_EQ(lines.front().substr(0, 7), "{\"n\":0,");
  EXPECT_EQ(lines.back().substr(0, 9), "{\"n\":199,");
}

TEST_F(LogFilesTest, RotatedNamesSortInTimeOrder) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1796558400));
  const std::string a = RotatedName(path_, t);
  std::ofstream(a) << "x\n";
  const std::string b = RotatedName(path_, t);  // the same second: _002
  std::ofstream(b) << "y\n";
  EXPECT_EQ(b, a + "_002");
  EXPECT_LT(a, b);  // as ls sorts them
  const std::string c = RotatedName(path_, t + std::chrono::seconds(1));
  std::ofstream(c) << "z\n";
  EXPECT_EQ(ListRotated(path_), (std::vector<std::string>{a, b, c}));
}

}  // namespace
}  // namespace sluice::events
