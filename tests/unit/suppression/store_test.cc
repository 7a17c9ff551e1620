#include <filesystem>

#include <gtest/gtest.h>

#include "suppression/rocks_store.h"

namespace sluice::suppression {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

const Clock::time_point kNow = Clock::time_point(1'800'000'000s);

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-suppression-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    RocksOptions o;
    o.path = dir_.string();
    auto s = RocksStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.error();
    store_ = std::move(s).value();
  }
  static Entry Make(std::string address, Scope scope, Reason r = Reason::kManual) {
    Entry e;
    e.address = *Key(address);
    e.scope = std::move(scope);
    e.reason = r;
    e.created = kNow - 1h;
    e.source = "test";
    return e;
  }

  std::filesystem::path dir_;
  std::unique_ptr<RocksStore> store_;
};

TEST(SuppressionKey, FoldsCaseAndIdnaButKeepsDomainEntriesApart) {
  EXPECT_EQ(Key("John.Doe@Example.COM"), "john.doe@example.com");
  EXPECT_EQ(Key("user@bücher.example"), "user@xn--bcher-kva.example");
  EXPECT_EQ(Key("@Example.com"), "@example.com");
  EXPECT_EQ(Key("example.com"), std::nullopt);  // a domain entry says so with its "@"
  EXPECT_EQ(Key("not an address"), std::nullopt);
  EXPECT_EQ(Key("a@"), std::nullopt);
  EXPECT_EQ(Key("@[192.0.2.1]"), std::nullopt);
  EXPECT_EQ(Key(""), std::nullopt);
}

TEST(SuppressionReason, RoundTrips) {
  for (auto r : {Reason::kHardBounce, Reason::kSoftBounce, Reason::kComplaint, Reason::kUnsubscribe,
                 Reason::kManual}) {
    EXPECT_EQ(ParseReason(ToString(r)), r);
  }
  EXPECT_EQ(ParseReason("Complaint"), Reason::kComplaint);
  EXPECT_EQ(ParseReason("spam"), std::nullopt);
}

TEST_F(StoreTest, ScopesApplyToTheirOwnMailOnly) {
  ASSERT_TRUE(store_
                  ->Add({Make("g@example.com", {}), Make("t@example.com", {"acme", ""}),
                         Make("c@example.com", {"acme", "spring"})})
                  .ok());
  // The global list stops everyone's mail.
  EXPECT_TRUE(store_->Find("g@example.com", "", "", kNow));
  EXPECT_TRUE(store_->Find("g@example.com", "other", "x", kNow));
  // A tenant's list, its own mail (any campaign of it) only.
  EXPECT_TRUE(store_->Find("t@example.com", "acme", "", kNow));
  EXPECT_TRUE(store_->Find("t@example.com", "acme", "summer", kNow));
  EXPECT_FALSE(store_->Find("t@example.com", "other", "", kNow));
  EXPECT_FALSE(store_->Find("t@example.com", "", "", kNow));
  // A campaign's list, that campaign of that tenant only.
  EXPECT_TRUE(store_->Find("c@example.com", "acme", "spring", kNow));
  EXPECT_FALSE(store_->Find("c@example.com", "acme", "summer", kNow));
  EXPECT_FALSE(store_->Find("c@example.com", "acme", "", kNow));
  EXPECT_FALSE(store_->Find("c@example.com", "other", "spring", kNow));
}

TEST_F(StoreTest, MostSpecificListAnswersFirst) {
  ASSERT_TRUE(store_
                  ->Add({Make("a@example.com", {}, Reason::kManual),
                         Make("a@example.com", {"acme", ""}, Reason::kComplaint),
                         Make("a@example.com", {"acme", "spring"}, Reason::kUnsubscribe)})
                  .ok());
  EXPECT_EQ(store_->Find("a@example.com", "acme", "spring", kNow)->reason, Reason::kUnsubscribe);
  EXPECT_EQ(store_->Find("a@example.com", "acme", "x", kNow)->reason, Reason::kComplaint);
  EXPECT_EQ(store_->Find("a@example.com", "", "", kNow)->reason, Reason::kManual);
}

TEST_F(StoreTest, DomainEntryCoversEveryAddressAtIt) {
  ASSERT_TRUE(store_->Add({Make("@dead.example", {"acme", ""})}).ok());
  auto e = store_->Find("anyone@dead.example", "acme", "", kNow);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->address, "@dead.example");
  EXPECT_FALSE(store_->Find("anyone@sub.dead.example", "acme", "", kNow));
  EXPECT_FALSE(store_->Find("anyone@dead.example", "other", "", kNow));
}

TEST_F(StoreTest, DomainEntriesOfEveryListAreFoundAfterReopen) {
  ASSERT_TRUE(store_
                  ->Add({Make("@a.example", {}), Make("x@a.example", {"acme", ""}),
                         Make("0@b.example", {"acme", ""}), Make("@b.example", {"acme", ""}),
                         Make("zz@b.example", {"acme", ""}), Make("@c.example", {"acme", "spring"}),
                         Make("@d.example", {"shop", ""})})
                  .ok());
  Reopen();
  EXPECT_EQ(store_->Find("u@a.example", "other", "", kNow)->address, "@a.example");
  EXPECT_EQ(store_->Find("u@b.example", "acme", "", kNow)->address, "@b.example");
  EXPECT_EQ(store_->Find("u@c.example", "acme", "spring", kNow)->address, "@c.example");
  EXPECT_EQ(store_->Find("u@d.example", "shop", "x", kNow)->address, "@d.example");
  EXPECT_FALSE(store_->Find("u@d.example", "acme", "", kNow));
  // Removed, it no longer counts; an address entry at the domain still does.
  EXPECT_TRUE(*store_->Remove("@b.example", {"acme", ""}));
  EXPECT_FALSE(store_->Find("u@b.example", "acme", "", kNow));
  EXPECT_TRUE(store_->Find("zz@b.example", "acme", "", kNow));
}

TEST_F(StoreTest, SoftEntriesExpire) {
  Entry e = Make("full@example.com", {"acme", ""}, Reason::kSoftBounce);
  e.expires = kNow + 72h;
  ASSERT_TRUE(store_->Add({e}).ok());
  EXPECT_TRUE(store_->Find("full@example.com", "acme", "", kNow + 71h));
  EXPECT_FALSE(store_->Find("full@example.com", "acme", "", kNow + 72h));
  int seen = 0;
  store_->ForEach(nullptr, nullptr, kNow + 73h, [&](const Entry&) { return ++seen > 0; });
  EXPECT_EQ(seen, 0);
}

TEST_F(StoreTest, CompactionDropsExpiredEntries) {
  Entry gone = Make("gone@example.com", {}, Reason::kSoftBounce);
  gone.expires = Clock::now() - 1s;
  Entry kept = Make("kept@example.com", {}, Reason::kSoftBounce);
  kept.expires = Clock::now() + 1h;
  ASSERT_TRUE(store_->Add({gone, kept}).ok());
  store_->Compact();
  int seen = 0;
  // Read as of an earlier time: only what compaction left is there to see.
  store_->ForEach(nullptr, nullptr, Clock::now() - 24h, [&](const Entry& e) {
    EXPECT_EQ(e.address, "kept@example.com");
    return ++seen > 0;
  });
  EXPECT_EQ(seen, 1);
}

TEST_F(StoreTest, EntriesSurviveReopenWithEveryField) {
  Entry e = Make("a@example.com", {"acme", "spring"}, Reason::kComplaint);
  e.expires = kNow + 24h;
  e.source = "0123456789abcdef0123456789abcdef";
  e.detail = "abuse";
  ASSERT_TRUE(store_->Add({e}).ok());
  Reopen();
  auto got = store_->Find("a@example.com", "acme", "spring", kNow);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->address, e.address);
  EXPECT_EQ(got->scope, e.scope);
  EXPECT_EQ(got->reason, e.reason);
  EXPECT_EQ(got->created, e.created);
  EXPECT_EQ(got->expires, e.expires);
  EXPECT_EQ(got->source, e.source);
  EXPECT_EQ(got->detail, e.detail);
}

TEST_F(StoreTest, RemoveSaysWhetherThereWasOne) {
  ASSERT_TRUE(store_->Add({Make("a@example.com", {"acme", ""})}).ok());
  EXPECT_FALSE(*store_->Remove("a@example.com", {}));
  EXPECT_TRUE(*store_->Remove("a@example.com", {"acme", ""}));
  EXPECT_FALSE(*store_->Remove("a@example.com", {"acme", ""}));
  EXPECT_FALSE(store_->Find("a@example.com", "acme", "", kNow));
}

TEST_F(StoreTest, ForEachKeepsToItsScope) {
  ASSERT_TRUE(
      store_
          ->Add({Make("a@example.com", {}), Make("b@example.com", {"acme", ""}),
                 Make("c@example.com", {"acme", "spring"}), Make("d@example.com", {"acme", ""})})
          .ok());
  std::vector<std::string> got;
  Scope acme{"acme", ""};
  store_->ForEach(&acme, nullptr, kNow, [&](const Entry& e) {
    got.push_back(e.address);
    return true;
  });
  EXPECT_EQ(got, (std::vector<std::string>{"b@example.com", "d@example.com"}));
  int all = 0;
  store_->ForEach(nullptr, nullptr, kNow, [&](const Entry&) { return ++all > 0; });
  EXPECT_EQ(all, 4);
}

TEST_F(StoreTest, ForEachResumesAfterAnEntry) {
  ASSERT_TRUE(store_
                  ->Add({Make("a@example.com", {"acme", ""}), Make("b@example.com", {"acme", ""}),
                         Make("c@example.com", {"acme", ""}), Make("a@example.com", {})})
                  .ok());
  Scope acme{"acme", ""};
  Entry after;
  after.scope = acme;
  after.address = "a@example.com";
  std::vector<std::string> got;
  store_->ForEach(&acme, &after, kNow, [&](const Entry& e) {
    got.push_back(e.address);
    return true;
  });
  EXPECT_EQ(got, (std::vector<std::string>{"b@example.com", "c@example.com"}));
  // Across scopes: the global list comes first, then the tenants'.
  after.scope = {};
  got.clear();
  store_->ForEach(nullptr, &after, kNow, [&](const Entry& e) {
    got.push_back(e.scope.tenant + ":" + e.address);
    return true;
  });
  EXPECT_EQ(got, (std::vector<std::string>{"acme:a@example.com", "acme:b@example.com",
                                           "acme:c@example.com"}));
}

}  // namespace
}  // namespace sluice::suppression
