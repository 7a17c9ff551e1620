#pragma once
// Free space on a file system, as an unprivileged process may use it, and
// the space a directory's files take.

#include <cstdint>
#include <optional>
#include <string>

namespace sluice {

// Bytes available to unprivileged users on the file system holding `path`
// (statvfs f_bavail), or nullopt if it cannot be asked.
std::optional<std::uint64_t> FreeDiskBytes(const std::string& path);

// The sizes of the regular files under `path` (recursively), added up; files
// that vanish while counted are skipped.
std::uint64_t DirectoryBytes(const std::string& path);

}  // namespace sluice
