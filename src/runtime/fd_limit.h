#pragma once
// The process's file-descriptor limit (RLIMIT_NOFILE): raised to the hard limit
// at start, so a default soft limit of 1,024 does not cap an MTA that holds a
// descriptor per connection.

#include <cstdint>
#include <string>

namespace sluice::runtime {

struct FdLimit {
  std::uint64_t soft_before = 0;  // the soft limit sluiced was started with
  std::uint64_t soft = 0;         // the soft limit now in force
  std::uint64_t hard = 0;
  std::string error;  // why the limit could not be read or raised; empty if it was
};

// Raises the soft RLIMIT_NOFILE to the hard limit (capped at what the kernel
// allows one process, fs.nr_open). Never lowers it.
FdLimit RaiseFdLimit();

}  // namespace sluice::runtime
