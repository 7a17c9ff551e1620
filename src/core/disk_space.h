#pragma once
// Free space on a file system, as an unprivileged process may use it.

#include <cstdint>
#include <optional>
#include <string>

namespace sluice {

// Bytes available to unprivileged users on the file system holding `path`
// (statvfs f_bavail), or nullopt if it cannot be asked.
std::optional<std::uint64_t> FreeDiskBytes(const std::string& path);

}  // namespace sluice
