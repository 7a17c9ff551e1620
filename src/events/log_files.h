#pragma once
// The event log's closed files: how they are named, found, compressed,
// pruned and read back.
//
// A log rotated at 2026-12-06T22:15:00Z becomes PATH.20261206T221500Z (then
// _002, _003, ... for more in the same second), and with compression on,
// PATH.20261206T221500Z.zst (zstd frames, RFC 8878). Names sort in time
// order, as `ls` sorts them too.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/result.h"

namespace sluice::events {

// The name for `path` rotated at `at` that does not exist yet.
std::string RotatedName(const std::string& path, std::chrono::system_clock::time_point at);
// The rotated files of `path`, oldest first (compressed or not).
std::vector<std::string> ListRotated(const std::string& path);
// When a rotated file of `path` was closed (from its name), or nullopt.
std::optional<std::chrono::system_clock::time_point> RotatedAt(const std::string& path,
                                                               const std::string& file);
// Compresses `file` to file.zst (synced, then renamed into place) and removes
// `file`; on failure `file` stays and the error is returned.
Result<Ok, std::string> CompressFile(const std::string& file);
// Calls `fn` with each line of `file` (plain, or zstd if it ends in .zst).
Result<Ok, std::string> ReadLines(const std::string& file,
                                  const std::function<void(std::string_view)>& fn);

// Work on closed files, off the writing thread: compress (if asked), then
// keep the newest `keep` rotated files and remove older ones (0: keep all).
class RotationWorker {
 public:
  RotationWorker(std::string path, std::size_t keep, bool compress);
  ~RotationWorker();
  void Closed(std::string file);
  // Waits until everything handed over is done (tests).
  void Drain();

 private:
  void Loop();
  std::string path_;
  std::size_t keep_;
  bool compress_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> todo_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sluice::events
