// Idempotency keys: a retry gets the first answer, for 24 hours.
#include "api/idempotency.h"

#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace sluice::api {
namespace {

using namespace std::chrono_literals;
using State = IdempotencyCache::State;

TEST(Idempotency, ARetryGetsTheFirstAnswerUntilItExpires) {
  ManualClock clock{std::chrono::system_clock::now(), std::chrono::steady_clock::now()};
  IdempotencyCache cache(clock);
  EXPECT_EQ(cache.Begin("key1", "k", "body").state, State::kNew);
  EXPECT_EQ(cache.Begin("key1", "k", "body").state, State::kRunning);  // first not done yet
  cache.Finish("key1", "k", {202, "{\"id\":1}"});
  auto again = cache.Begin("key1", "k", "body");
  EXPECT_EQ(again.state, State::kDone);
  EXPECT_EQ(again.answer.status, 202u);
  EXPECT_EQ(again.answer.body, "{\"id\":1}");
  EXPECT_EQ(cache.Begin("key1", "k", "other body").state, State::kReused);
  EXPECT_EQ(cache.Begin("key2", "k", "body").state, State::kNew);  // scoped to the API key
  clock.Advance(24h - 1s);
  EXPECT_EQ(cache.Begin("key1", "k", "body").state, State::kDone);
  clock.Advance(1s);
  EXPECT_EQ(cache.Begin("key1", "k", "body").state, State::kNew);  // forgotten after 24 h
}

TEST(Idempotency, AnswersOutliveARestartThroughTheJournalForTheirRemainingTime) {
  ManualClock clock{std::chrono::system_clock::now(), std::chrono::steady_clock::now()};
  std::vector<std::pair<std::int64_t, std::string>> journal;
  {
    IdempotencyCache first(clock);
    first.SetJournal([&](std::int64_t at, std::string r) { journal.emplace_back(at, r); });
    first.Begin("key1", "k", "body");
    first.Finish("key1", "k", {202, "{\"id\":1}"});
    first.Begin("key1", "gone", "body");
    first.Abandon("key1", "gone");  // not kept: nothing written
  }
  ASSERT_EQ(journal.size(), 1u);
  clock.Advance(20h);
  IdempotencyCache second(clock);
  second.Restore(journal[0].first, journal[0].second);
  second.Restore(0, "not a record");
  auto again = second.Begin("key1", "k", "body");
  EXPECT_EQ(again.state, State::kDone);
  EXPECT_EQ(again.answer.status, 202u);
  EXPECT_EQ(again.answer.body, "{\"id\":1}");
  EXPECT_EQ(second.Begin("key1", "k", "other body").state, State::kReused);
  // 24 h from the first answer, not from the restart.
  clock.Advance(4h);
  EXPECT_EQ(second.Begin("key1", "k", "body").state, State::kNew);
}

TEST(Idempotency, AnAbandonedRequestRunsAgain) {
  ManualClock clock{std::chrono::system_clock::now(), std::chrono::steady_clock::now()};
  IdempotencyCache cache(clock);
  EXPECT_EQ(cache.Begin("s", "k", "b").state, State::kNew);
  cache.Abandon("s", "k");
  EXPECT_EQ(cache.Begin("s", "k", "b").state, State::kNew);
}

TEST(Idempotency, KeysArePrintableAscii) {
  EXPECT_TRUE(ValidIdempotencyKey("8e03978e-40d5-43e8-bc93-6894a57f9324"));
  EXPECT_FALSE(ValidIdempotencyKey(""));
  EXPECT_FALSE(ValidIdempotencyKey("a b"));
  EXPECT_FALSE(ValidIdempotencyKey(std::string(256, 'a')));
}

}  // namespace
}  // namespace sluice::api
