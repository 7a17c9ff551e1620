#include "runtime/fd_limit.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <sys/resource.h>

namespace sluice::runtime {

namespace {

std::uint64_t NrOpen() {
  std::ifstream f("/proc/sys/fs/nr_open");
  std::uint64_t n = 0;
  if (f >> n) {
    return n;
  }
  return 1u << 20;  // the kernel's default
}

}  // namespace

FdLimit RaiseFdLimit() {
  FdLimit out;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    out.error = std::strerror(errno);
    return out;
  }
  out.soft_before = out.soft = rl.rlim_cur;
  out.hard = rl.rlim_max;
  rlim_t want = rl.rlim_max;
  if (want == RLIM_INFINITY || want > NrOpen()) {
    want = NrOpen();
  }
  if (want <= rl.rlim_cur) {
    return out;
  }
  rl.rlim_cur = want;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    out.error = std::strerror(errno);
    return out;
  }
  out.soft = want;
  return out;
}

}  // namespace sluice::runtime
