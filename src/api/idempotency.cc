#include "api/idempotency.h"

#include <algorithm>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <openssl/evp.h>

#include "core/base64.h"

namespace sluice::api {

namespace {

std::string Slot(const std::string& scope, std::string_view key) {
  return scope + '\n' + std::string(key);
}

// SHA-256: a retry with another body is told apart from a true retry.
std::string Digest(std::string_view body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(body.data(), body.size(), md, &n, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), n);
}

}  // namespace

bool ValidIdempotencyKey(std::string_view key) {
  return !key.empty() && key.size() <= 255 &&
         std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

void IdempotencyCache::Expire(Clock::Steady::time_point now) {
  while (!order_.empty() &&
         (order_.front().first + keep_ <= now || entries_.size() > max_entries_)) {
    auto it = entries_.find(order_.front().second);
    if (it != entries_.end() && it->second.at == order_.front().first) {
      entries_.erase(it);
    }
    order_.pop_front();
  }
}

IdempotencyCache::Lookup IdempotencyCache::Begin(const std::string& scope, std::string_view key,
                                                 std::string_view body) {
  const auto now = clock_.SteadyNow();
  std::lock_guard lock(mu_);
  Expire(now);
  const std::string slot = Slot(scope, key);
  const std::string digest = Digest(body);
  auto it = entries_.find(slot);
  if (it == entries_.end()) {
    entries_[slot] = Entry{digest, false, {}, now};
    order_.emplace_back(now, slot);
    return {};
  }
  if (it->second.body_hash != digest) {
    return {State::kReused, {}};
  }
  if (!it->second.done) {
    return {State::kRunning, {}};
  }
  return {State::kDone, it->second.answer};
}

void IdempotencyCache::Finish(const std::string& scope, std::string_view key, Answer answer) {
  std::string record;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(Slot(scope, key));
    if (it == entries_.end()) {
      return;
    }
    it->second.done = true;
    it->second.answer = std::move(answer);
    if (journal_) {
      record =
          boost::json::serialize(boost::json::object{{"slot", it->first},
                                                     {"digest", Base64Encode(it->second.body_hash)},
                                                     {"status", it->second.answer.status},
                                                     {"body", it->second.answer.body}});
    }
  }
  if (journal_) {
    journal_(ToMicros(clock_.Now()), std::move(record));
  }
}

void IdempotencyCache::Restore(std::int64_t at_us, std::string_view record) {
  boost::system::error_code ec;
  auto v = boost::json::parse(record, ec);
  const boost::json::object* o = ec ? nullptr : v.if_object();
  if (o == nullptr || !o->contains("slot") || !o->contains("digest") || !o->contains("status") ||
      !o->contains("body") || !o->at("slot").is_string() || !o->at("digest").is_string() ||
      !o->at("body").is_string() || !o->at("status").is_number()) {
    return;  // not one of ours: skipped
  }
  auto digest = Base64Decode(std::string_view(o->at("digest").get_string()));
  if (!digest) {
    return;
  }
  // Its age on the wall clock, as a point on the steady clock the cache keeps.
  const auto age = clock_.Now() - FromMicros(at_us);
  const auto at = clock_.SteadyNow() - std::chrono::duration_cast<Clock::Steady::duration>(age);
  std::lock_guard lock(mu_);
  const std::string slot(o->at("slot").get_string());
  Entry e{std::move(digest).value(), true,
          Answer{o->at("status").to_number<unsigned>(), std::string(o->at("body").get_string())},
          at};
  entries_[slot] = std::move(e);
  order_.emplace_back(at, slot);
  Expire(clock_.SteadyNow());
}

void IdempotencyCache::Abandon(const std::string& scope, std::string_view key) {
  std::lock_guard lock(mu_);
  entries_.erase(Slot(scope, key));
}

}  // namespace sluice::api
