#include "core/assert.h"

#include <atomic>

namespace sluice::detail {
namespace {
std::atomic<unsigned long> bug_count{0};
}
void ReportBug(const char* what, const char* file, int line) {
  bug_count.fetch_add(1, std::memory_order_relaxed);
  std::fprintf(stderr, "BUG: %s at %s:%d\n", what, file, line);
}
}  // namespace sluice::detail
