#pragma once
// Security: answers a retried request with the first one's answer, so a
//           client that lost a 202 (a timeout, a dropped connection) can send
//           again without sending twice. Keys are scoped to the API key that
//           made them: one tenant cannot read another's answers.
// Standards: the Idempotency-Key header field (IETF httpapi draft,
//            draft-ietf-httpapi-idempotency-key-header).
//
// Kept for 24 hours: in memory, and through a journal (when one is set)
// across restarts: each final answer is written to it before the answer goes
// out, and read back at start-up. A key reused with another body is refused;
// a key whose first request is still running is answered 409. Transient
// failures (5xx, 429) are not kept, so the retry runs again.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace sluice::api {

class IdempotencyCache {
 public:
  struct Answer {
    unsigned status = 0;
    std::string body;
  };
  enum class State { kNew, kRunning, kReused, kDone };
  struct Lookup {
    State state = State::kNew;
    Answer answer;  // kDone: the first answer
  };

  explicit IdempotencyCache(const Clock& clock, std::chrono::hours keep = std::chrono::hours(24),
                            std::size_t max_entries = 1'000'000)
      : clock_(clock), keep_(keep), max_entries_(max_entries) {}

  // Where final answers are also written (wall-clock microseconds, record),
  // and a record read back from there at start-up. Set before use.
  using Journal = std::function<void(std::int64_t at_us, std::string record)>;
  void SetJournal(Journal journal) { journal_ = std::move(journal); }
  void Restore(std::int64_t at_us, std::string_view record);
  std::chrono::hours keep() const { return keep_; }

  // kNew: the caller runs the request and then calls Finish (or Abandon).
  Lookup Begin(const std::string& scope, std::string_view key, std::string_view body);
  void Finish(const std::string& scope, std::string_view key, Answer answer);
  void Abandon(const std::string& scope, std::string_view key);

 private:
  struct Entry {
    std::string body_hash;
    bool done = false;
    Answer answer;
    Clock::Steady::time_point at;
  };
  void Expire(Clock::Steady::time_point now);  // with mu_ held

  const Clock& clock_;
  std::chrono::hours keep_;
  std::size_t max_entries_;
  Journal journal_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;                                 // scope + '\n' + key
  std::deque<std::pair<Clock::Steady::time_point, std::string>> order_;  // oldest first
};

// A key is 1-255 printable ASCII characters.
bool ValidIdempotencyKey(std::string_view key);

}  // namespace sluice::api
