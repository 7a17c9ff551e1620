// Component test on a real RocksDB in a temporary directory.
#include "spool/history_store.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/spool_id.h"

namespace sluice::spool {
namespace {

class HistoryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-history-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<HistoryStore> Open() {
    auto h = HistoryStore::Open({.path = dir_.string(), .retention = std::chrono::hours(24)});
    EXPECT_TRUE(h.ok()) << h.error();
    return std::move(h).value();
  }

  std::filesystem::path dir_;
};

// An id as ingest makes them: its first half is the reception time.
SpoolId IdAt(std::chrono::system_clock::time_point t, std::uint64_t unique) {
  return SpoolId(static_cast<std::uint64_t>(ToMicros(t)), unique);
}

TEST_F(HistoryStoreTest, AMessagesEventsComeBackInOrderAndOnlyItsOwn) {
  auto h = Open();
  const auto now = std::chrono::system_clock::now();
  const SpoolId a = IdAt(now, 1);
  const SpoolId b = IdAt(now, 2);
  h->Append(a.Hex(), R"({"type":"Reception"})");
  h->Append(b.Hex(), R"({"type":"Reception","b":1})");
  h->Append(a.Hex(), R"({"type":"TransientFailure"})");
  h->Append(a.Hex(), R"({"type":"Delivery"})");
  EXPECT_EQ(h->Read(a.Hex()),
            (std::vector<std::string>{R"({"type":"Reception"})", R"({"type":"TransientFailure"})",
                                      R"({"type":"Delivery"})"}));
  EXPECT_EQ(h->Read(b.Hex()).size(), 1u);
  EXPECT_TRUE(h->Read(IdAt(now, 3).Hex()).empty());
  EXPECT_TRUE(h->Read("not hex").empty());
  // The same once written.
  h->Flush();
  EXPECT_EQ(h->Read(a.Hex()).size(), 3u);
  h->Append(a.Hex(), R"({"type":"Bounce"})");
  EXPECT_EQ(h->Read(a.Hex()).back(), R"({"type":"Bounce"})");
}

TEST_F(HistoryStoreTest, EventsOutliveARestartAndAreAppendedAfterTheOldOnes) {
  const SpoolId a = IdAt(std::chrono::system_clock::now(), 7);
  {
    auto h = Open();
    h->Append(a.Hex(), "first");
  }
  auto h = Open();
  h->Append(a.Hex(), "second");
  EXPECT_EQ(h->Read(a.Hex()), (std::vector<std::string>{"first", "second"}));
}

TEST_F(HistoryStoreTest, ExpireDropsMessagesReceivedBeforeTheRetention) {
  auto h = Open();
  const auto now = std::chrono::system_clock::now();
  const SpoolId old_id = IdAt(now - std::chrono::hours(30), 1);
  const SpoolId recent = IdAt(now - std::chrono::hours(20), 1);
  h->Append(old_id.Hex(), "old");
  h->Append(recent.Hex(), "recent");
  h->Flush();  // expiry drops what is written
  h->Expire(now);
  EXPECT_TRUE(h->Read(old_id.Hex()).empty());
  EXPECT_EQ(h->Read(recent.Hex()).size(), 1u);
  // Five hours on, the recent one has had its 24 h as well.
  h->Expire(now + std::chrono::hours(5));
  EXPECT_TRUE(h->Read(recent.Hex()).empty());
}

TEST_F(HistoryStoreTest, RecordsComeBackInTimeOrderAndExpireAfterADay) {
  const auto now = std::chrono::system_clock::now();
  const auto us = [](auto t) { return ToMicros(t); };
  {
    auto h = Open();
    h->AppendRecord(us(now - std::chrono::hours(30)), "old");
    h->AppendRecord(us(now - std::chrono::hours(2)), "b");
    h->AppendRecord(us(now - std::chrono::hours(3)), "a");
  }
  auto h = Open();  // reopening expires what is past its day
  std::vector<std::string> seen;
  h->ForEachRecord(0, [&](std::int64_t, std::string_view v) { seen.emplace_back(v); });
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  seen.clear();
  h->ForEachRecord(us(now - std::chrono::hours(2)), [&](std::int64_t at, std::string_view v) {
    EXPECT_EQ(at, us(now - std::chrono::hours(2)));
    seen.emplace_back(v);
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"b"}));
}

}  // namespace
}  // namespace sluice::spool
