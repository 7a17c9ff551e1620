#include "smtp/server/memory_budget.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sluice::smtp {
namespace {

TEST(MemoryBudget, LeasesGrowWithinTheLimitAndGiveBackWhenDone) {
  MemoryBudget budget(100);
  {
    MemoryLease a(budget);
    EXPECT_TRUE(a.GrowTo(60));
    EXPECT_TRUE(a.GrowTo(40));  // never shrinks a lease
    EXPECT_EQ(budget.used(), 60u);
    MemoryLease b(budget);
    EXPECT_FALSE(b.GrowTo(41));  // would pass the limit: refused, nothing taken
    EXPECT_EQ(budget.used(), 60u);
    EXPECT_TRUE(b.GrowTo(40));
    EXPECT_TRUE(budget.Exhausted());
    MemoryLease moved(std::move(b));  // the message goes on to the spool
    EXPECT_EQ(moved.held(), 40u);
    EXPECT_EQ(b.held(), 0u);
    b.Release();
    EXPECT_EQ(budget.used(), 100u);
  }
  EXPECT_EQ(budget.used(), 0u);
}

TEST(MemoryBudget, NoLimitTakesEverything) {
  MemoryBudget budget(0);
  MemoryLease a(budget);
  EXPECT_TRUE(a.GrowTo(1ull << 40));
  EXPECT_FALSE(budget.Exhausted());
}

TEST(MemoryBudget, ConcurrentTakersNeverPassTheLimit) {
  MemoryBudget budget(1000);
  std::vector<std::thread> threads;
  std::atomic<std::uint64_t> granted{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        if (budget.TryTake(7)) {
          granted += 7;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_LE(granted.load(), 1000u);
  EXPECT_EQ(granted.load(), budget.used());
  EXPECT_GT(granted.load(), 1000u - 7);
}

}  // namespace
}  // namespace sluice::smtp
