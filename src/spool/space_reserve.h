#pragma once
// A file that holds room on the spool's file system ("space.reserve"): given
// up when a write fails for want of space, so the database can recover (its
// new log and flush need room) and write the removals that free the disk.

#include <cstdint>
#include <string>

namespace sluice::spool {

class SpaceReserve {
 public:
  SpaceReserve(const std::string& dir, std::uint64_t size);

  // Makes the file whole if it is not, provided `keep_free` octets stay free
  // besides; true if it is whole now.
  bool Take(std::uint64_t keep_free);
  // Deletes the file (its room is the disk's again).
  void Give();
  std::uint64_t size() const { return size_; }

 private:
  std::string dir_;
  std::string path_;
  std::uint64_t size_;
};

}  // namespace sluice::spool
