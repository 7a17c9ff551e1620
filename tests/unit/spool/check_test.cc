// `sluice spool check` on a real RocksDB spool damaged on purpose.
#include "spool/check.h"

#include <unistd.h>

#include <filesystem>
#include <functional>
#include <future>
#include <map>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

namespace sluice::spool {
namespace {

class SpoolCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-check-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static Meta MakeMeta() {
    Meta m;
    m.id = SpoolId::Generate();
    m.envelope.sender = ParseMailbox("s@example.com").value();
    m.envelope.recipients.push_back(Recipient{ParseMailbox("r@example.org").value(), 0, ""});
    return m;
  }
  static void Wait(const std::function<void(Spool::Done)>& op) {
    std::promise<void> p;
    op([&p](Result<Ok, SpoolError>) { p.set_value(); });
    p.get_future().wait();
  }
  // Changes the database behind the spool's back (it must be closed).
  void Damage(const std::function<void(rocksdb::DB&, rocksdb::ColumnFamilyHandle* meta,
                                       rocksdb::ColumnFamilyHandle* data)>& fn) {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{rocksdb::kDefaultColumnFamilyName, {}},
                                                        {"data", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> h;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open({}, dir_.string(), cfs, &h, &db).ok());
    fn(*db, h[0], h[1]);
    for (auto* x : h) {
      db->DestroyColumnFamilyHandle(x);
    }
    delete db;
  }
  static std::string Key(const SpoolId& id) {
    auto k = id.Key();
    return std::string(k.data(), k.size());
  }

  std::filesystem::path dir_;
};

TEST_F(SpoolCheckTest, ACleanSpoolIsClean) {
  auto s = RocksSpool::Open({.path = dir_.string()});
  ASSERT_TRUE(s.ok());
  Meta m = MakeMeta();
  m.size = 12;
  Wait([&](Spool::Done d) { s.value()->Store(m, "H: v\r\n", "body\r\n", std::move(d)); });
  auto r = CheckSpool(*s.value());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value().clean());
  EXPECT_EQ(r.value().messages, 1u);
  EXPECT_EQ(r.value().pending, 1u);
  EXPECT_EQ(r.value().data_records, 1u);
  EXPECT_EQ(r.value().data_bytes, 12u);
}

TEST_F(SpoolCheckTest, FindsEveryKindOfDamageAndNamesTheRepair) {
  Meta lost_data = MakeMeta();
  Meta lost_meta = MakeMeta();
  Meta garbled = MakeMeta();
  Meta finished = MakeMeta();
  {
    auto s = RocksSpool::Open({.path = dir_.string()});
    ASSERT_TRUE(s.ok());
    for (auto* m : {&lost_data, &lost_meta, &garbled, &finished}) {
      m->size = 6;
      Wait([&](Spool::Done d) { s.value()->Store(*m, "", "body\r\n", std::move(d)); });
    }
    finished.done = {Meta::kFinal};
    Wait([&](Spool::Done d) { s.value()->UpdateMeta(finished, std::move(d)); });
  }
  Damage(
      [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* meta, rocksdb::ColumnFamilyHandle* data) {
        ASSERT_TRUE(db.Delete({}, data, Key(lost_data.id)).ok());
        ASSERT_TRUE(db.Delete({}, meta, Key(lost_meta.id)).ok());
        ASSERT_TRUE(db.Put({}, meta, Key(garbled.id), "\xff garbage").ok());
      });
  auto s = RocksSpool::Open({.path = dir_.string(), .read_only = true});
  ASSERT_TRUE(s.ok());
  auto r = CheckSpool(*s.value());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().messages, 3u);
  EXPECT_EQ(r.value().finished, 1u);
  std::map<std::string, std::string> problems;
  for (const auto& f : r.value().findings) {
    problems[f.id] = f.problem;
    EXPECT_FALSE(f.repair.empty());
  }
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[lost_data.id.Hex()], "metadata without message data");
  EXPECT_NE(problems[lost_meta.id.Hex()].find("without metadata"), std::string::npos);
  EXPECT_EQ(problems[garbled.id.Hex()], "metadata cannot be decoded");
}

}  // namespace
}  // namespace sluice::spool
