#pragma once
// Security: holds event records (addresses, client details, metadata), never bodies.
// Durability: events are gathered in memory and written by a thread of
//             their own, a batch every 20 ms or 1,000 events, to RocksDB's
//             log, not synced: a crash of the process loses at most the last
//             batch, a power loss a little more. History is for looking back,
//             not for deciding: nothing reads it to deliver or to count.
//             Records (AppendRecord) are written at once, before it returns.
//
// Each message's events for `retention` after its reception, in a RocksDB
// database of its own beside the spool (not in it: it writes and drops far
// more, and no 250 waits on it). A key is the message id's 16-byte time-ordered form
// (core/spool_id.h) and a sequence number, so one message's events are one
// key range and expiring a day is one range deletion.
//
// A second keyspace keeps timed records for the HTTP API (the answers to
// requests with an Idempotency-Key), keyed by their time, so they too expire
// by one range deletion and come back in order at start-up.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/result.h"
#include "events/events.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace sluice::spool {

class HistoryStore final : public events::History {
 public:
  struct Options {
    std::string path;
    std::chrono::hours retention{7 * 24};
    std::chrono::hours records_retention{24};
  };
  static Result<std::unique_ptr<HistoryStore>, std::string> Open(const Options& opts);
  ~HistoryStore() override;

  void Append(std::string_view message_id, std::string_view line) override;
  std::vector<std::string> Read(std::string_view message_id) override;
  // A timed record, and every record since `since_us` (oldest first).
  void AppendRecord(std::int64_t at_us, std::string_view value);
  void ForEachRecord(std::int64_t since_us,
                     const std::function<void(std::int64_t at_us, std::string_view value)>& fn);
  // Drops the events of messages received before now - retention, and the
  // records older than now - records_retention. Append
  // calls it once an hour; tests call it with their own time.
  void Expire(std::chrono::system_clock::time_point now);
  std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  // Writes what is gathered now (tests; the destructor).
  void Flush();

 private:
  explicit HistoryStore(Options opts);
  void WriterLoop();
  // Writes `batch` (key, line pairs) as one RocksDB batch.
  void Write(std::vector<std::pair<std::string, std::string>>& batch);

  Options opts_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // events, records
  std::atomic<std::uint64_t> seq_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::int64_t> next_expiry_us_{0};
  std::mutex expire_mu_;

  // Events not written yet, in order; Read() looks here too.
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable written_;
  std::vector<std::pair<std::string, std::string>> pending_;
  std::uint64_t batches_started_ = 0;  // batches taken by the writer
  std::uint64_t batches_written_ = 0;
  bool stop_ = false;
  std::thread writer_;
};

}  // namespace sluice::spool
