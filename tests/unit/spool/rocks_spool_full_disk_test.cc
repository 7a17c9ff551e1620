// The spool on a small file system that fills: it refuses mail rather than
// crash, never continues after a failed write, writes the updates and
// removals it holds once there is room again, and keeps its floor. Needs a
// tmpfs mount (root); skipped where mounting is not allowed.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <thread>

#include <gtest/gtest.h>
#include <sys/mount.h>

#include "core/disk_space.h"
#include "spool/rocks_spool.h"

namespace sluice::spool {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kMiB = 1 << 20;

class FullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mnt_ = std::filesystem::temp_directory_path() /
           ("sluice-fulldisk-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(mnt_);
    if (::mount("tmpfs", mnt_.c_str(), "tmpfs", 0, "size=24m") != 0) {
      std::filesystem::remove(mnt_);
      GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) {
      ::umount2(mnt_.c_str(), MNT_DETACH);
      std::filesystem::remove(mnt_);
    }
  }

  RocksOptions Options(std::uint64_t floor) const {
    return {.path = (mnt_ / "spool").string(),
            .min_free_disk = floor,
            .memtable_bytes = 1 * kMiB,
            .recovery_interval = 50ms};
  }
  // Takes all but `leave` bytes of the file system.
  void Fill(std::uint64_t leave) {
    auto free = FreeDiskBytes(mnt_.string()).value();
    std::ofstream out(mnt_ / "filler", std::ios::binary | std::ios::app);
    std::string block(64 * 1024, 'f');
    for (std::uint64_t n = 0; n + leave + block.size() <= free; n += block.size()) {
      out.write(block.data(), static_cast<std::streamsize>(block.size()));
    }
  }
  void Unfill() { std::filesystem::remove(mnt_ / "filler"); }

  static Meta MakeMeta() {
    Meta m;
    m.id = SpoolId::Generate();
    m.envelope.sender = ParseMailbox("s@example.com").value();
    m.envelope.recipients.push_back(Recipient{ParseMailbox("r@example.org").value(), 0, ""});
    return m;
  }
  static Result<Ok, SpoolError> StoreSync(Spool& s, const Meta& m, std::size_t size) {
    std::promise<Result<Ok, SpoolError>> p;
    auto f = p.get_future();
    s.Store(m, "", std::string(size, 'b'), [&p](Result<Ok, SpoolError> r) { p.set_value(r); });
    return f.get();
  }
  // The error of `r`, or nullopt (never the assertion error() has on success).
  template <typename T>
  static std::optional<SpoolError> ErrorOf(const Result<T, SpoolError>& r) {
    return r.ok() ? std::nullopt : std::optional<SpoolError>(r.error());
  }
  // Polls `pred` until it holds or `limit` passes (a wait on a condition with
  // a deadline; the short sleep is only the polling interval).
  template <typename Pred>
  static bool WaitFor(Pred pred, std::chrono::seconds limit = 20s) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (pred()) {
        return true;
      }
      std::this_thread::sleep_for(20ms);
    }
    return pred();
  }

  std::filesystem::path mnt_;
  bool mounted_ = false;
};

// Without a floor the disk really fills: the failing store is refused (never
// a 250 for mail not on disk), so is every store until the spool recovers,
// the process stays up, and once space returns it stores again by itself.
TEST_F(FullDiskTest, WriteFailureRefusesUntilSpaceReturnsThenRecovers) {
  auto s = RocksSpool::Open(Options(0));
  ASSERT_TRUE(s.ok()) << s.error();
  Fill(6 * kMiB);
  std::vector<SpoolId> stored;
  std::optional<SpoolError> first_error;
  for (int i = 0; i < 40 && !first_error; ++i) {
    Meta m = MakeMeta();
    auto r = StoreSync(*s.value(), m, 256 * 1024);
    if (r.ok()) {
      stored.push_back(m.id);
    } else {
      first_error = r.error();
    }
  }
  ASSERT_TRUE(first_error.has_value()) << "the file system never filled";
  EXPECT_TRUE(*first_error == SpoolError::kIo || *first_error == SpoolError::kFull);
  EXPECT_EQ(ErrorOf(StoreSync(*s.value(), MakeMeta(), 100)), SpoolError::kFull);
  EXPECT_EQ(ErrorOf(s.value()->Admission(0)), SpoolError::kFull);
  for (const auto& id : stored) {  // everything acknowledged is still readable
    ASSERT_TRUE(s.value()->ReadData(id).ok());
  }
  Unfill();
  ASSERT_TRUE(WaitFor([&] { return s.value()->Admission(0).ok(); }));
  Meta later = MakeMeta();
  ASSERT_TRUE(StoreSync(*s.value(), later, 1000).ok());
  EXPECT_GE(s.value()->stats().recoveries, 1u);
  s.value().reset();
  auto again = RocksSpool::Open(Options(0));
  ASSERT_TRUE(again.ok()) << again.error();
  std::size_t found = 0;
  ASSERT_TRUE(again.value()->ForEachMeta([&](Meta&&) { ++found; }).ok());
  EXPECT_EQ(found, stored.size() + 1);
}

// A removal asked for while the spool cannot write is not dropped: readers
// see it at once, and it reaches the disk when the spool recovers, which it
// does with nobody freeing space (it gives up its reserve), so a restart does
// not find (and deliver) the message again.
TEST_F(FullDiskTest, RemovalDuringFailureIsWrittenWithTheReserve) {
  auto s = RocksSpool::Open(Options(0));
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_TRUE(s.value()->stats().reserve_held);
  Meta kept = MakeMeta();
  ASSERT_TRUE(StoreSync(*s.value(), kept, 1000).ok());
  Fill(6 * kMiB);
  bool failed = false;
  for (int i = 0; i < 40 && !failed; ++i) {
    failed = !StoreSync(*s.value(), MakeMeta(), 256 * 1024).ok();
  }
  ASSERT_TRUE(failed);
  std::promise<Result<Ok, SpoolError>> removed;
  s.value()->Remove(kept.id, 0, [&](Result<Ok, SpoolError> r) { removed.set_value(r); });
  EXPECT_EQ(ErrorOf(s.value()->ReadMeta(kept.id)), SpoolError::kNotFound);
  auto done = removed.get_future();
  ASSERT_EQ(done.wait_for(20s), std::future_status::ready);
  EXPECT_TRUE(done.get().ok());
  EXPECT_GE(s.value()->stats().recoveries, 1u);
  s.value().reset();
  auto again = RocksSpool::Open(Options(0));
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(ErrorOf(again.value()->ReadMeta(kept.id)), SpoolError::kNotFound);
}

// With a floor, stores stop before free space falls below it, counting the
// message and the room a new log and a flush take; nothing fails to write.
TEST_F(FullDiskTest, FloorHoldsAndLiftsOnceMailIsRemoved) {
  const std::uint64_t floor = 4 * kMiB;
  auto s = RocksSpool::Open(Options(floor));
  ASSERT_TRUE(s.ok()) << s.error();
  Fill(14 * kMiB);
  std::vector<SpoolId> stored;
  std::uint64_t lowest = FreeDiskBytes(mnt_.string()).value();
  bool refused = false;
  for (int i = 0; i < 80 && !refused; ++i) {
    Meta m = MakeMeta();
    auto r = StoreSync(*s.value(), m, 256 * 1024);
    if (r.ok()) {
      stored.push_back(m.id);
    } else {
      ASSERT_EQ(ErrorOf(r), SpoolError::kFull);
      refused = true;
    }
    lowest = std::min(lowest, FreeDiskBytes(mnt_.string()).value());
  }
  ASSERT_TRUE(refused);
  EXPECT_FALSE(stored.empty());
  EXPECT_GE(lowest, floor);
  EXPECT_EQ(s.value()->stats().write_failures, 0u);
  // Delivered: removed. The space the log held comes back without a restart.
  for (const auto& id : stored) {
    s.value()->Remove(id, 256 * 1024, [](Result<Ok, SpoolError>) {});
  }
  // (Room for more than the store: the write's own check counts its key and
  // metadata too, and a compaction under way briefly takes some space.)
  EXPECT_TRUE(WaitFor([&] { return s.value()->Admission(kMiB).ok(); }))
      << "free " << FreeDiskBytes(mnt_.string()).value_or(0);
  EXPECT_TRUE(StoreSync(*s.value(), MakeMeta(), 256 * 1024).ok());
}

}  // namespace
}  // namespace sluice::spool
