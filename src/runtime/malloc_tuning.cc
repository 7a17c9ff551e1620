#include "runtime/malloc_tuning.h"

#include <malloc.h>

namespace sluice::runtime {

bool KeepLargeBuffersMapped() {
  return ::mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1;
}

}  // namespace sluice::runtime
