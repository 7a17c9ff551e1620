#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include <fmt/format.h>
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

std::vector<std::filesystem::path> Segments(const std::filesystem::path& queue) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(queue)) {
    if (e.path().extension() == ".seg") {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A crash of the machine can leave the last record half written: the journal
// ends before it, and new records follow the whole ones.
TEST_F(OutboxTest, ATornLastRecordIsCutOffAndNewRecordsFollow) {
  {
    auto box = Outbox::Open(dir_.string());
    ASSERT_TRUE(box);
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE((*box)->Append("a", "{\"n\":" + std::to_string(i) + "}", i));
    }
  }
  const auto segs = Segments(dir_ / "a.queue");
  ASSERT_EQ(segs.size(), 1u);
  const auto whole = std::filesystem::file_size(segs[0]);
  {
    std::ofstream f(segs[0], std::ios::app | std::ios::binary);
    const char torn[] = "\0\0\0\x40\x12\x34\x56\x78{\"n\":3,\"cut";
    f.write(torn, sizeof torn - 1);
  }
  auto box = Outbox::Open(dir_.string());
  ASSERT_TRUE(box);
  EXPECT_EQ(std::filesystem::file_size(segs[0]), whole);
  EXPECT_EQ((*box)->Pending("a"), 3u);
  ASSERT_TRUE((*box)->Append("a", "{\"n\":4}", 4));
  auto batch = (*box)->Read("a", 10, 1 << 20);
  ASSERT_EQ(batch.size(), 4u);
  EXPECT_EQ(batch[2].json, "{\"n\":2}");
  EXPECT_EQ(batch[3].json, "{\"n\":4}");
}

// A record damaged in place (a bad disk) is passed over, not sent as garbage.
TEST_F(OutboxTest, ADamagedRecordIsPassedOver) {
  auto box = Outbox::Open(dir_.string(), 64);
  ASSERT_TRUE(box);
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE((*box)->Append("a", "{\"n\":" + std::to_string(i) + ",\"pad\":\"xxxxxxxxxx\"}", i));
  }
  const auto segs = Segments(dir_ / "a.queue");
  ASSERT_GE(segs.size(), 2u);
  {
    std::fstream f(segs[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('#');
  }
  auto batch = (*box)->Read("a", 10, 1 << 20);
  ASSERT_FALSE(batch.empty());
  EXPECT_NE(batch.front().json, "{\"n\":0,\"pad\":\"xxxxxxxxxx\"}");
  for (const auto& r : batch) {
    EXPECT_EQ(r.json.front(), '{');
    EXPECT_EQ(r.json.back(), '}');
    EXPECT_EQ(r.json.find('#'), std::string::npos) << r.json;
  }
  EXPECT_EQ(batch.back().json, "{\"n\":5,\"pad\":\"xxxxxxxxxx\"}");
}

TEST_F(OutboxTest, SegmentsWhollyAcknowledgedAreDeleted) {
  {
    auto box = Outbox::Open(dir_.string(), 100);
    ASSERT_TRUE(box);
    for (int i = 0; i < 40; ++i) {
      ASSERT_TRUE((*box)->Append("a", "{\"n\":" + std::to_string(i) + "}", i));
    }
    const auto before = Segments(dir_ / "a.queue").size();
    EXPECT_GE(before, 4u);
    std::uint64_t last = 0;
    for (int taken = 0; taken < 30;) {
      auto batch = (*box)->Read("a", 30 - taken, 1 << 20);
      ASSERT_FALSE(batch.empty());
      taken += static_cast<int>(batch.size());
      last = batch.back().seq;
      (*box)->Ack("a", last);
    }
    EXPECT_LT(Segments(dir_ / "a.queue").size(), before);
    EXPECT_EQ((*box)->Pending("a"), 10u);
    EXPECT_EQ((*box)->OldestUs("a"), 30);
  }
  auto box = Outbox::Open(dir_.string(), 100);
  ASSERT_TRUE(box);
  EXPECT_EQ((*box)->Pending("a"), 10u);
  auto batch = (*box)->Read("a", 100, 1 << 20);
  ASSERT_EQ(batch.size(), 10u);
  EXPECT_EQ(batch.front().json, "{\"n\":30}");
  EXPECT_EQ(batch.back().json, "{\"n\":39}");
}

// Part of a batch acknowledged (the rest dropped or not yet read): the next
// read starts right after it.
TEST_F(OutboxTest, AcknowledgingPartOfABatch) {
  auto box = Outbox::Open(dir_.string(), 50);
  ASSERT_TRUE(box);
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE((*box)->Append("a", "{\"n\":" + std::to_string(i) + "}", i));
  }
  auto batch = (*box)->Read("a", 12, 1 << 20);
  ASSERT_EQ(batch.size(), 12u);
  (*box)->Ack("a", batch[6].seq);
  EXPECT_EQ((*box)->Pending("a"), 5u);
  EXPECT_EQ((*box)->Read("a", 1, 1 << 20).front().json, "{\"n\":7}");
}

// Records past a journal's tail that a crash of the machine took away are
// not confused with new ones: numbers once acknowledged are never reused.
TEST_F(OutboxTest, NumbersAcknowledgedAreNotReusedAfterALostTail) {
  {
    auto box = Outbox::Open(dir_.string());
    ASSERT_TRUE(box);
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE((*box)->Append("a", "{\"n\":" + std::to_string(i) + "}", i));
    }
    (*box)->Ack("a", (*box)->Read("a", 5, 1 << 20).back().seq);
  }
  for (const auto& s : Segments(dir_ / "a.queue")) {
    std::filesystem::resize_file(s, 0);
  }
  auto box = Outbox::Open(dir_.string());
  ASSERT_TRUE(box);
  EXPECT_EQ((*box)->Pending("a"), 0u);
  ASSERT_TRUE((*box)->Append("a", "{\"n\":5}", 5));
  auto batch = (*box)->Read("a", 10, 1 << 20);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].json, "{\"n\":5}");
}

TEST_F(OutboxTest, AppendsFromManyThreadsKeepEachThreadsOrder) {
  auto box = Outbox::Open(dir_.string(), 4096);
  ASSERT_TRUE(box);
  constexpr int kThreads = 4;
  constexpr int kEach = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        (*box)->Append("a", fmt::format("{{\"t\":{},\"i\":{}}}", t, i), i);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  std::vector<int> seen(kThreads, -1);
  std::size_t total = 0;
  std::uint64_t prev = 0;
  for (;;) {
    auto batch = (*box)->Read("a", 97, 1 << 20);
    if (batch.empty()) {
      break;
    }
    for (const auto& r : batch) {
      EXPECT_GT(r.seq, prev);
      prev = r.seq;
      int t = 0;
      int i = 0;
      ASSERT_EQ(std::sscanf(r.json.c_str(), "{\"t\":%d,\"i\":%d}", &t, &i), 2);
      EXPECT_EQ(i, seen[t] + 1);
      seen[t] = i;
    }
    total += batch.size();
    (*box)->Ack("a", batch.back().seq);
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kThreads * kEach));
}

}  // namespace
}  // namespace sluice::webhook
