#include "api/message_view.h"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace sluice::api {
namespace {

const std::string kReception =
    R"({"type":"Reception","id":"x","timestamp":"2026-12-06T10:00:00.000000Z",)"
    R"("sender":"s@src.example","recipients":["a@d.example","b@d.example"],"size":10,)"
    R"("tenant":"acme","campaign":null,"metadata":{"order":"7"}})";

std::string Outcome(std::string_view type, std::string_view rcpt, int code) {
  return std::string(R"({"type":")") + std::string(type) + R"(","recipient":")" +
         std::string(rcpt) + R"(","response":{"code":)" + std::to_string(code) +
         R"(,"enhanced":null,"text":"t"}})";
}

spool::Meta Queued() {
  spool::Meta m;
  m.id = SpoolId(1, 2);
  m.envelope.sender = ParseMailbox("s@src.example").value();
  m.envelope.recipients = {Recipient{ParseMailbox("a@d.example").value(), 0, ""},
                           Recipient{ParseMailbox("b@d.example").value(), 0, ""}};
  m.tenant = "acme";
  m.received_us = 1'000'000;
  return m;
}

std::string State(const MessageView& v, std::size_t i) {
  return std::string(v.body.at("recipients").at(i).at("state").as_string());
}

TEST(MessageView, UnknownEverywhereIsNotFound) {
  EXPECT_FALSE(ViewMessage("x", std::nullopt, {}).found);
  EXPECT_FALSE(ViewMessage("x", std::nullopt, {"not json", R"({"type":"Delivery"})"}).found);
}

TEST(MessageView, AQueuedMessageIsItsSpoolRecordWithItsOutcomesSoFar) {
  spool::Meta m = Queued();
  m.attempts = 1;
  m.due_us = 5'000'000;
  m.done = {spool::Meta::kFinal, 0};
  auto v = ViewMessage("x", m,
                       {kReception, Outcome("Delivery", "a@d.example", 250),
                        Outcome("TransientFailure", "b@d.example", 451)});
  ASSERT_TRUE(v.found);
  EXPECT_EQ(v.tenant, "acme");
  EXPECT_EQ(v.body.at("state").as_string(), "deferred");
  EXPECT_EQ(v.body.at("next_attempt_at").as_string(), "1970-01-01T00:00:05.000000Z");
  EXPECT_EQ(State(v, 0), "delivered");
  EXPECT_EQ(State(v, 1), "deferred");
  EXPECT_EQ(v.body.at("recipients").at(1).at("last_response").at("code").as_int64(), 451);
  EXPECT_EQ(v.body.at("events").as_array().size(), 3u);
}

TEST(MessageView, AMessageScheduledForLaterSaysSo) {
  spool::Meta m = Queued();
  m.send_at_us = 9'000'000;
  auto v = ViewMessage("x", m, {});
  EXPECT_EQ(v.body.at("state").as_string(), "scheduled");
  EXPECT_EQ(v.body.at("send_at").as_string(), "1970-01-01T00:00:09.000000Z");
  EXPECT_EQ(State(v, 0), "queued");
}

TEST(MessageView, AFinishedMessageIsItsReceptionAndOutcomes) {
  auto v =
      ViewMessage("x", std::nullopt,
                  {kReception, Outcome("TransientFailure", "a@d.example", 451),
                   Outcome("Delivery", "a@d.example", 250), Outcome("Bounce", "b@d.example", 550)});
  ASSERT_TRUE(v.found);
  EXPECT_EQ(v.tenant, "acme");
  EXPECT_EQ(v.body.at("state").as_string(), "done");
  EXPECT_EQ(v.body.at("sender").as_string(), "s@src.example");
  EXPECT_EQ(boost::json::serialize(v.body.at("metadata")), R"({"order":"7"})");
  EXPECT_EQ(State(v, 0), "delivered");
  EXPECT_EQ(v.body.at("recipients").at(0).at("attempts").to_number<int>(), 2);
  EXPECT_EQ(State(v, 1), "bounced");
}

TEST(MessageView, AFinalRecipientWithoutItsEventIsDone) {
  spool::Meta m = Queued();
  m.done = {spool::Meta::kFinal, 0};
  auto v = ViewMessage("x", m, {});
  EXPECT_EQ(State(v, 0), "done");
  EXPECT_EQ(State(v, 1), "queued");
}

}  // namespace
}  // namespace sluice::api
