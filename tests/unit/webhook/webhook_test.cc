#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "webhook/http_post.h"
#include "webhook/outbox.h"
#include "webhook/signature.h"

namespace sluice::webhook {
namespace {

// Standard Webhooks 1.0: the specification's own example.
TEST(Signature, StandardWebhooksTestVector) {
  auto key = ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(key);
  EXPECT_EQ(Sign(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, "{\"test\": 2432232314}"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(Signature, SecretsParsedOrRefused) {
  EXPECT_EQ(ParseSecret("plain-secret"), std::optional<std::string>("plain-secret"));
  EXPECT_FALSE(ParseSecret(""));
  EXPECT_FALSE(ParseSecret("whsec_not*base64"));
  auto made = MakeSecret();
  ASSERT_EQ(made.rfind("whsec_", 0), 0u);
  auto key = ParseSecret(made);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->size(), 32u);
  EXPECT_NE(made, MakeSecret());
}

TEST(Url, ParsesHostPortAndTarget) {
  auto u = Url::Parse("https://hooks.example.com:8443/in?x=1");
  ASSERT_TRUE(u) << u.error();
  EXPECT_TRUE(u->https);
  EXPECT_EQ(u->host, "hooks.example.com");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->target, "/in?x=1");
  EXPECT_FALSE(u->loopback());
  auto v = Url::Parse("http://[::1]:9000");
  ASSERT_TRUE(v) << v.error();
  EXPECT_FALSE(v->https);
  EXPECT_EQ(v->host, "::1");
  EXPECT_EQ(v->target, "/");
  EXPECT_TRUE(v->loopback());
  EXPECT_EQ(Url::Parse("HTTPS://Example.com")->port, 443);
  EXPECT_TRUE(Url::Parse("http://127.0.0.9/h")->loopback());
}

TEST(Url, RefusesWhatItCannotUse) {
  for (const char* bad : {"ftp://x/", "https://", "https://user:pw@x/", "https://x:0/",
                          "https://x:70000/", "https://x/#frag", "https://x/a b", "x.example"}) {
    EXPECT_FALSE(Url::Parse(bad)) << bad;
  }
}

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-outbox-" + std::to_string(std::random_device{}()));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(OutboxTest, KeepsOrderPerWebhookAndForgetsWhatWasAcknowledged) {
  auto box = Outbox::Open(dir_.string());
  ASSERT_TRUE(box) << box.error();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE((*box)->Append("a", "{\"n\":" + std::to_string(i) + "}", 1000 + i));
  }
  ASSERT_TRUE((*box)->Append("b", "{\"other\":1}", 7));
  auto batch = (*box)->Read("a", 3, 1 << 20);
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0].json, "{\"n\":0}");
  EXPECT_EQ(batch[2].json, "{\"n\":2}");
  EXPECT_EQ(batch[0].at_us, 1000);
  (*box)->Ack("a", batch.back().seq);
  EXPECT_EQ((*box)->Pending("a"), 2u);
  EXPECT_EQ((*box)->OldestUs("a"), 1003);
  EXPECT_EQ((*box)->Pending("b"), 1u);
  // A byte limit still lets one record through.
  EXPECT_EQ((*box)->Read("a", 10, 1).size(), 1u);
}

TEST_F(OutboxTest, WhatWasNotAcknowledgedSurvivesAReopen) {
  {
    auto box = Outbox::Open(dir_.string());
    ASSERT_TRUE(box);
    for (int i = 0; i < 4; ++i) {
      (*box)->Append("a", "{\"n\":" + std::to_string(i) + "}", i);
    }
    (*box)->Ack("a", (*box)->Read("a", 1, 1 << 20).front().seq);
  }
  auto box = Outbox::Open(dir_.string());
  ASSERT_TRUE(box);
  EXPECT_EQ((*box)->Pending("a"), 3u);
  auto batch = (*box)->Read("a", 10, 1 << 20);
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch.front().json, "{\"n\":1}");
  // New records follow the old ones.
  (*box)->Append("a", "{\"n\":4}", 4);
  EXPECT_EQ((*box)->Read("a", 10, 1 << 20).back().json, "{\"n\":4}");
}

}  // namespace
}  // namespace sluice::webhook
