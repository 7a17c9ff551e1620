#include "spool/space_reserve.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "core/disk_space.h"

namespace sluice::spool {

SpaceReserve::SpaceReserve(const std::string& dir, std::uint64_t size)
    : dir_(dir), path_((std::filesystem::path(dir) / "space.reserve").string()), size_(size) {}

bool SpaceReserve::Take(std::uint64_t keep_free) {
  std::error_code ec;
  if (std::filesystem::file_size(path_, ec) < size_ || ec) {
    // Taken only with room for it and `keep_free` besides, so taking it does
    // not itself fill the disk.
    auto free = FreeDiskBytes(dir_);
    if (free && *free < keep_free + size_) {
      return false;
    }
  }
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    spdlog::warn("spool {}: {}: {}", dir_, path_, std::strerror(errno));
    return false;
  }
  int err = ::posix_fallocate(fd, 0, static_cast<off_t>(size_));
  if (err == EOPNOTSUPP || err == EINVAL) {
    // No fallocate on this file system: the blocks are written instead.
    std::string zeros(1 << 20, '\0');
    err = 0;
    for (std::uint64_t done = 0; done < size_ && err == 0;) {
      auto n = ::pwrite(fd, zeros.data(), std::min<std::uint64_t>(zeros.size(), size_ - done),
                        static_cast<off_t>(done));
      if (n <= 0) {
        err = n < 0 ? errno : EIO;
      } else {
        done += static_cast<std::uint64_t>(n);
      }
    }
    if (err == 0 && ::fsync(fd) != 0) {
      err = errno;
    }
  }
  ::close(fd);
  if (err != 0) {
    ::unlink(path_.c_str());
    return false;
  }
  return true;
}

void SpaceReserve::Give() {
  ::unlink(path_.c_str());
}

}  // namespace sluice::spool
