#include "core/disk_space.h"

#include <sys/statvfs.h>

namespace sluice {

std::optional<std::uint64_t> FreeDiskBytes(const std::string& path) {
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

}  // namespace sluice
