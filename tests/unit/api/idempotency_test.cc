// Idempotency keys: a retry gets the first answer, for 24 hours.
#include "api/idempotency.h"

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
