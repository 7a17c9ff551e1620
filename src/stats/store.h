#pragma once
// Durability: counts gather in memory and are written by a thread of their
//             own about once a second (and before every read), to RocksDB's
//             log, not synced: a crash of the process loses at most the last
//             second's counts. Statistics are for looking at, not for
//             deciding: nothing reads them to deliver.
//
// Time-bucketed counters in a RocksDB database of their own. Each count goes
// to three rows at once, its minute's, its hour's and its day's (UTC), so a
// long range is read from few rows; each resolution is kept for its own time
// and dropped by one range deletion. A row's key is the resolution, the
// bucket's start and the dimension values (counters.h); its value the
// non-zero counters, added together by a merge operator, so a write never
// reads.
//
// Destination domains and campaigns are bounded: a bucket of a resolution
// keeps up to max_domains and max_campaigns of them by name, the rest count
// under "other" (the sets are in memory: after a restart a bucket open at the
// time may take up to twice as many).

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/result.h"
#include "stats/counters.h"

namespace rocksdb {
class DB;
}

namespace sluice::stats {

enum class Resolution : std::uint8_t { kMinute, kHour, kDay };
std::chrono::seconds Length(Resolution r);

class Store {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  struct Options {
    std::string path;
    std::chrono::hours minute_retention{48};
    std::chrono::hours hour_retention{90 * 24};
    std::chrono::hours day_retention{732 * 24};
    std::size_t max_domains = 500;
    std::size_t max_campaigns = 1000;
  };
  static Result<std::unique_ptr<Store>, std::string> Open(const Options& opts);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Adds one to each slot of the row of `t` and `tuple`, at every resolution.
  void Add(TimePoint t, Tuple tuple, std::span<const std::uint16_t> slots);
  // True the first time it is asked of `key` (then remembered for the hour
  // retention after `sent`, when the message was taken), false after.
  bool FirstTime(TimePoint sent, std::string_view key);
  // Writes what waits, before returning.
  void Flush();
  // Drops rows older than their resolution's retention at `now`. The writer
  // calls it once an hour; tests call it with their own time.
  void Prune(TimePoint now);
  // Every row of resolution `r` whose bucket starts in [from, to), in key
  // order (bucket, then dimensions), only `tenant`'s if set (reading no
  // other's); fn returns false to stop. Flush first to see what waits.
  void ForEachRow(
      Resolution r, TimePoint from, TimePoint to,
      const std::function<bool(TimePoint bucket, const Tuple& tuple, const Counters& counters)>& fn,
      const std::optional<std::string>& tenant = std::nullopt);
  // Counts dropped past the bound on rows waiting, and rows that could not
  // be written (neither is retried).
  std::uint64_t failures() const;

 private:
  explicit Store(Options opts);
  void WriterLoop();
  // The domain or campaign a row of (r, bucket) is counted under; mu_ held.
  std::string Admit(Dim dim, Resolution r, std::int64_t bucket, std::string value);

  Options opts_;
  std::unique_ptr<rocksdb::DB> db_;
  std::mutex write_mu_;  // held by Flush, mu_ only for moments inside it
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::unordered_map<std::string, Sparse> pending_;  // row key: counts to add
  std::unordered_set<std::string> seen_;             // unique keys not yet written
  std::unordered_set<std::string> writing_seen_;     // ... being written (write_mu_)
  std::uint64_t writes_ = 0;                         // writes ended
  // Per resolution, the domains and campaigns each recent bucket counts by name.
  std::array<std::map<std::int64_t, std::unordered_set<std::string>>, 3> domains_;
  std::array<std::map<std::int64_t, std::unordered_set<std::string>>, 3> campaigns_;
  std::uint64_t failures_ = 0;
  std::chrono::steady_clock::time_point warned_at_{};
  std::chrono::steady_clock::time_point next_prune_{};
  std::thread writer_;
};

}  // namespace sluice::stats
