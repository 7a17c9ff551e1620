// Component test on a real RocksDB in a temporary directory.
#include "spool/rocks_spool.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "spool/data_chunks.h"

namespace sluice::spool {
namespace {

class RocksSpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-spool-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static Meta MakeMeta(int i) {
    Meta m;
    m.id = SpoolId::Generate();
    m.envelope.sender = ParseMailbox("s@example.com").value();
    m.envelope.recipients.push_back(
        Recipient{ParseMailbox("r" + std::to_string(i) + "@example.org").value(), 0, ""});
    return m;
  }

  Result<Ok, SpoolError> StoreSync(Spool& s, Meta m, std::string prefix, std::string body) {
    std::promise<Result<Ok, SpoolError>> p;
    auto f = p.get_future();
    s.Store(std::move(m), std::move(prefix), std::move(body),
            [&p](Result<Ok, SpoolError> r) { p.set_value(std::move(r)); });
    return f.get();
  }

  std::filesystem::path dir_;
};

TEST_F(RocksSpoolTest, StoreReadRemove) {
  auto s = RocksSpool::Open({.path = dir_.string()});
  ASSERT_TRUE(s.ok()) << s.error();
  Meta m = MakeMeta(1);
  SpoolId id = m.id;
  ASSERT_TRUE(StoreSync(*s.value(), m, "Received: x\r\n", "Subject: y\r\n\r\nbody\r\n").ok());
  auto data = s.value()->ReadData(id);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data.value(), "Received: x\r\nSubject: y\r\n\r\nbody\r\n");
  std::promise<Result<Ok, SpoolError>> removed;
  s.value()->Remove(id, 0, [&](Result<Ok, SpoolError> r) { removed.set_value(std::move(r)); });
  ASSERT_TRUE(removed.get_future().get().ok());
  EXPECT_EQ(s.value()->ReadData(id).error(), SpoolError::kNotFound);
  auto n = s.value()->ForEachMeta([](Meta&&) {});
  EXPECT_EQ(n.value(), 0u);
}

TEST_F(RocksSpoolTest, EverythingStoredIsFoundAfterReopen) {
  std::vector<SpoolId> ids;
  {
    auto s = RocksSpool::Open({.path = dir_.string()});
    ASSERT_TRUE(s.ok());
    for (int i = 0; i < 50; ++i) {
      Meta m = MakeMeta(i);
      ids.push_back(m.id);
      ASSERT_TRUE(StoreSync(*s.value(), m, "", std::string(10000 + i, 'x')).ok());
    }
  }
  auto s = RocksSpool::Open({.path = dir_.string()});
  ASSERT_TRUE(s.ok());
  std::vector<SpoolId> found;
  auto n = s.value()->ForEachMeta([&](Meta&& m) { found.push_back(m.id); });
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(found, ids);  // reception order
  EXPECT_EQ(s.value()->ReadData(ids[7]).value().size(), 10007u);
}

TEST_F(RocksSpoolTest, ConcurrentStoresShareSyncs) {
  auto s = RocksSpool::Open({.path = dir_.string()});
  ASSERT_TRUE(s.ok());
  constexpr int kStores = 400;
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  std::promise<void> all_done;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kStores / 4; ++i) {
        s.value()->Store(MakeMeta(t * 1000 + i), "", std::string(1000, 'y'),
                         [&](Result<Ok, SpoolError> r) {
                           if (!r.ok()) {
                             failed++;
                           }
                           if (++done == kStores) {
                             all_done.set_value();
                           }
                         });
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  all_done.get_future().wait();
  EXPECT_EQ(failed.load(), 0);
  auto st = s.value()->stats();
  EXPECT_EQ(st.stores, static_cast<std::uint64_t>(kStores));
  EXPECT_LT(st.syncs, st.stores / 4);  // grouped: far fewer syncs than stores
}

// Removal is ordered after an earlier metadata update of the same message.
TEST_F(RocksSpoolTest, RemoveAfterUpdateStaysRemoved) {
  auto s = RocksSpool::Open({.path = dir_.string()});
  ASSERT_TRUE(s.ok());
  Meta m = MakeMeta(1);
  ASSERT_TRUE(StoreSync(*s.value(), m, "", "x").ok());
  m.attempts = 2;
  std::promise<void> both;
  s.value()->UpdateMeta(m, [](Result<Ok, SpoolError>) {});
  s.value()->Remove(m.id, 0, [&](Result<Ok, SpoolError>) { both.set_value(); });
  both.get_future().wait();
  EXPECT_EQ(s.value()->ForEachMeta([](Meta&&) {}).value(), 0u);
}

// The dispatcher drops a message's metadata from memory right after asking for
// an update; reading it back at once must see that update, written yet or not.
TEST_F(RocksSpoolTest, ReadMetaSeesUpdatesAndRemovalsBeforeTheyAreWritten) {
  auto s = RocksSpool::Open({.path = dir_.string()});
  ASSERT_TRUE(s.ok());
  Meta m = MakeMeta(1);
  ASSERT_TRUE(StoreSync(*s.value(), m, "", "x").ok());
  EXPECT_EQ(s.value()->ReadMeta(m.id).value().attempts, 0u);
  std::atomic<int> written{0};
  for (std::uint32_t i = 1; i <= 200; ++i) {
    m.attempts = i;
    s.value()->UpdateMeta(m, [&](Result<Ok, SpoolError>) { ++written; });
    auto back = s.value()->ReadMeta(m.id);
    ASSERT_TRUE(back.ok());
    ASSERT_EQ(back.value().attempts, i);
  }
  std::promise<void> removed;
  s.value()->Remove(m.id, 0, [&](Result<Ok, SpoolError>) { removed.set_value(); });
  EXPECT_EQ(s.value()->ReadMeta(m.id).error(), SpoolError::kNotFound);
  removed.get_future().wait();
  EXPECT_EQ(s.value()->ReadMeta(m.id).error(), SpoolError::kNotFound);
  EXPECT_EQ(written.load(), 200);
  EXPECT_EQ(s.value()->ReadMeta(SpoolId::Generate()).error(), SpoolError::kNotFound);
}

TEST_F(RocksSpoolTest, StoreAfterCloseFailsClosed) {
  auto s = RocksSpool::Open({.path = dir_.string()});
  ASSERT_TRUE(s.ok());
  s.value()->Close();
  auto r = StoreSync(*s.value(), MakeMeta(1), "", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), SpoolError::kClosed);
}

TEST_F(RocksSpoolTest, ReadOnlyOpenSeesDataWhileWriterIsOpen) {
  auto s = RocksSpool::Open({.path = dir_.string()});
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(StoreSync(*s.value(), MakeMeta(1), "", "x").ok());
  auto ro = RocksSpool::Open({.path = dir_.string(), .read_only = true});
  ASSERT_TRUE(ro.ok()) << ro.error();
  EXPECT_EQ(ro.value()->ForEachMeta([](Meta&&) {}).value(), 1u);
  auto r = StoreSync(*ro.value(), MakeMeta(2), "", "x");
  EXPECT_FALSE(r.ok());
}

// A large message is stored in 1 MiB pieces (delivery reads one at a time)
// and read back whole; its removal takes every piece.
TEST_F(RocksSpoolTest, LargeDataIsStoredInChunks) {
  auto s = RocksSpool::Open({.path = dir_.string()});
  ASSERT_TRUE(s.ok());
  Meta m = MakeMeta(1);
  std::string prefix = "Received: x\r\n";
  std::string body(2 * kDataChunk + 12345, 'b');
  body[kDataChunk - prefix.size()] = 'X';  // first octet of chunk 1
  m.size = prefix.size() + body.size();
  ASSERT_TRUE(StoreSync(*s.value(), m, prefix, body).ok());
  EXPECT_EQ(s.value()->ReadData(m.id).value(), prefix + body);
  EXPECT_EQ(s.value()->ReadDataChunk(m.id, 0).value().size(), kDataChunk);
  auto second = s.value()->ReadDataChunk(m.id, 1).value();
  EXPECT_EQ(second.size(), kDataChunk);
  EXPECT_EQ(second.front(), 'X');
  EXPECT_EQ(s.value()->ReadDataChunk(m.id, 2).value().size(), prefix.size() + 12345);
  EXPECT_EQ(s.value()->ReadDataChunk(m.id, 3).error(), SpoolError::kNotFound);
  std::promise<void> removed;
  s.value()->Remove(m.id, m.size, [&](Result<Ok, SpoolError>) { removed.set_value(); });
  removed.get_future().wait();
  EXPECT_EQ(s.value()->ForEachDataKey([](std::string_view, std::uint64_t) {}).value(), 0u);
}

// Reads from memory only (for the delivery thread, which may not wait on
// the disk): recent records are there; one flushed to a table file is not,
// until a read from disk brings its block into the cache.
TEST_F(RocksSpoolTest, MemoryOnlyReadsSayWhenTheDiskIsNeeded) {
  auto s = RocksSpool::Open({.path = dir_.string(), .memtable_bytes = 64 << 10});
  ASSERT_TRUE(s.ok()) << s.error();
  Spool& spool = *s.value();
  Meta first = MakeMeta(0);
  ASSERT_TRUE(StoreSync(spool, first, "", "Subject: first\r\n\r\nbody\r\n").ok());
  ASSERT_TRUE(spool.ReadMetaCached(first.id).ok());  // in the memtable
  ASSERT_EQ(spool.ReadDataChunkCached(first.id, 0).value(), "Subject: first\r\n\r\nbody\r\n");
  // More mail until the first is flushed out of the memtables.
  bool flushed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int i = 1; !flushed && std::chrono::steady_clock::now() < deadline; ++i) {
    ASSERT_TRUE(StoreSync(spool, MakeMeta(i), "", std::string(2000, 'x')).ok());
    auto meta = spool.ReadMetaCached(first.id);
    flushed = !meta && meta.error() == SpoolError::kWouldBlock;
  }
  ASSERT_TRUE(flushed) << "the first record never left the memtable";
  // A read from disk still works, and brings the block into memory.
  ASSERT_TRUE(spool.ReadMeta(first.id).ok());
  EXPECT_TRUE(spool.ReadMetaCached(first.id).ok());
  EXPECT_EQ(spool.ReadData(first.id).value(), "Subject: first\r\n\r\nbody\r\n");
}

// Large data lives in blob files once flushed: a memory-only read of it
// gives the whole value or kWouldBlock, never part of it.
TEST_F(RocksSpoolTest, MemoryOnlyReadsOfLargeDataAreWholeOrWouldBlock) {
  auto s = RocksSpool::Open({.path = dir_.string(), .memtable_bytes = 64 << 10});
  ASSERT_TRUE(s.ok()) << s.error();
  Spool& spool = *s.value();
  std::vector<std::pair<SpoolId, std::string>> stored;
  for (int i = 0; i < 40; ++i) {
    Meta m = MakeMeta(i);
    std::string body(20000 + i, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(StoreSync(spool, m, "", body).ok());
    stored.emplace_back(m.id, body);
  }
  // After a restart, the blob cache is empty.
  s.value()->Close();
  s.value().reset();
  auto again = RocksSpool::Open({.path = dir_.string(), .memtable_bytes = 64 << 10});
  ASSERT_TRUE(again.ok()) << again.error();
  Spool& reopened = *again.value();
  int whole = 0;
  int would_block = 0;
  for (const auto& [id, body] : stored) {
    auto got = reopened.ReadDataChunkCached(id, 0);
    if (got.ok()) {
      EXPECT_EQ(got.value().size(), body.size());
      ++whole;
    } else {
      EXPECT_EQ(got.error(), SpoolError::kWouldBlock);
      ++would_block;
    }
  }
  EXPECT_GT(would_block, 0);  // flushed before the restart, not read since
  for (const auto& [id, body] : stored) {
    EXPECT_EQ(reopened.ReadDataChunk(id, 0).value(), body);
  }
  whole = 0;
  would_block = 0;
  for (const auto& [id, body] : stored) {
    auto got = reopened.ReadDataChunkCached(id, 0);  // after a read from disk
    if (got.ok()) {
      EXPECT_EQ(got.value().size(), body.size());
      EXPECT_EQ(got.value(), body);
      ++whole;
    } else {
      EXPECT_EQ(got.error(), SpoolError::kWouldBlock);
      ++would_block;
    }
  }
  EXPECT_EQ(whole + would_block, 40);
}

TEST(DataChunks, PiecesOfAConcatenation) {
  std::string a(kDataChunk - 1, 'a');
  std::string b(kDataChunk + 2, 'b');
  EXPECT_EQ(ChunkCount(0), 1u);
  EXPECT_EQ(ChunkCount(kDataChunk), 1u);
  EXPECT_EQ(ChunkCount(kDataChunk + 1), 2u);
  auto c0 = ChunkOf(a, b, 0);
  EXPECT_EQ(c0.first.size(), kDataChunk - 1);
  EXPECT_EQ(c0.second, "b");
  auto c1 = ChunkOf(a, b, 1);
  EXPECT_TRUE(c1.first.empty());
  EXPECT_EQ(c1.second.size(), kDataChunk);
  EXPECT_EQ(ChunkOf(a, b, 2).second.size(), 1u);
  EXPECT_TRUE(ChunkOf(a, b, 3).second.empty());
  EXPECT_EQ(ChunkKey("k", 0), "k");
  EXPECT_EQ(ChunkKey("k", 258), std::string("k\0\0\1\2", 5));
}

}  // namespace
}  // namespace sluice::spool
