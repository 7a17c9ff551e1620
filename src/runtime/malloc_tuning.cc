#include "runtime/malloc_tuning.h"

#include <malloc.h>

namespace sluice::runtime {

bool KeepLargeBuffersMapped() {
  // Fixing the threshold also fixes the heap's trim threshold (128 KiB),
  // which would then hand back, and fault in again, the pages of every
  // message-sized buffer freed at the top of a heap: a few MiB stay.
  return ::mallopt(M_MMAP_THRESHOLD, 1024 * 1024) == 1 &&
         ::mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024) == 1;
}

}  // namespace sluice::runtime
