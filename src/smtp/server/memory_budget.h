#pragma once
// How much message content all sessions together may hold in memory while
// it arrives and until the spool has it. A session takes from the budget as
// its message grows and gives it back once the message is stored or dropped;
// a message that would take the budget past its limit is read to its end and
// refused with 452 4.3.1 (RFC 3463 §3.4, "system full" for the moment), so
// many large messages at once cannot grow the process without bound.

#include <atomic>
#include <cstdint>

namespace sluice::smtp {

class MemoryBudget {
 public:
  explicit MemoryBudget(std::uint64_t limit = 0) : limit_(limit) {}
  void set_limit(std::uint64_t limit) { limit_.store(limit, std::memory_order_relaxed); }
  std::uint64_t limit() const { return limit_.load(std::memory_order_relaxed); }  // 0: none
  std::uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  // Nothing more fits: new messages are turned away at DATA.
  bool Exhausted() const { return limit() != 0 && used() >= limit(); }

  // Adds `n` if the total stays within the limit.
  bool TryTake(std::uint64_t n);
  void Give(std::uint64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> limit_;
  std::atomic<std::uint64_t> used_{0};
};

// One message's share of a budget, given back when it ends.
class MemoryLease {
 public:
  explicit MemoryLease(MemoryBudget& budget) : budget_(&budget) {}
  ~MemoryLease() { Release(); }
  MemoryLease(const MemoryLease&) = delete;
  MemoryLease& operator=(const MemoryLease&) = delete;
  // Takes over what `other` holds (it then holds nothing, from the same budget).
  MemoryLease(MemoryLease&& other) noexcept : budget_(other.budget_), held_(other.held_) {
    other.held_ = 0;
  }
  MemoryLease& operator=(MemoryLease&&) = delete;

  // Holds `total` octets in all; false (holding what it held) if they do not fit.
  bool GrowTo(std::uint64_t total);
  void Release();
  std::uint64_t held() const { return held_; }

 private:
  MemoryBudget* budget_;
  std::uint64_t held_ = 0;
};

}  // namespace sluice::smtp
