#include "smtp/server/memory_budget.h"

namespace sluice::smtp {

bool MemoryBudget::TryTake(std::uint64_t n) {
  const std::uint64_t cap = limit();
  std::uint64_t cur = used_.load(std::memory_order_relaxed);
  do {
    if (cap != 0 && cur + n > cap) {
      return false;
    }
  } while (!used_.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
  return true;
}

bool MemoryLease::GrowTo(std::uint64_t total) {
  if (total <= held_) {
    return true;
  }
  if (!budget_->TryTake(total - held_)) {
    return false;
  }
  held_ = total;
  return true;
}

void MemoryLease::Release() {
  if (held_ != 0) {
    budget_->Give(held_);
    held_ = 0;
  }
}

}  // namespace sluice::smtp
