#pragma once
// The RocksDB spool. Column family "default" holds metadata, "data" holds
// message content (in blob files, since bodies are large and short-lived).
//
// Group commit: Store() only queues. One writer thread takes everything queued,
// writes it as one WriteBatch with sync=true, then completes every callback,
// so N concurrent sessions cost one fsync, not N.
//
// Failure: after a failed write the writer writes nothing more until the
// database is usable again: it is closed and opened again (which replays the
// log and starts a new one), tried once a second while there is room. Meanwhile
// stores fail at once with kFull; updates and removals wait, in order, and are
// written after the recovery.
//
// Reserve: the spool keeps a file of its own ("space.reserve", a new log and
// a flush in size) on its file system. When a write fails for want of space
// the reserve is given up, so that the database can recover and write the
// removals of mail delivered meanwhile, which is what frees the disk. Stores
// are refused until the reserve can be taken again.
//
// Disk floor: a store is refused (kFull) when writing it could leave less than
// min_free_disk free, counting the message and what the write may set off: a
// new write-ahead log (preallocated to 1.1 memtables) and a memtable flush.
// While stores are refused, a reclaim thread flushes memtables and compacts,
// so the logs and blob files that hold only delivered mail are deleted and
// the space comes back without a restart.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "spool/space_reserve.h"
#include "spool/spool.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Slice;
struct ReadOptions;
}  // namespace rocksdb

namespace sluice::metrics {
class Histogram;
}

namespace sluice::spool {

struct RocksOptions {
  std::string path;
  bool read_only = false;                       // for the CLI while sluiced runs
  std::size_t max_batch = 1024;                 // stores per grouped sync
  std::uint64_t max_batch_bytes = 16ull << 20;  // and their octets (one store at least)
  std::uint64_t min_free_disk = 0;              // 0: no floor
  std::uint64_t memtable_bytes = 64ull << 20;   // per column family
  std::chrono::milliseconds recovery_interval{1000};
  // Where each synced write's latency (seconds) and stores are recorded (null: not).
  metrics::Histogram* sync_seconds = nullptr;
  metrics::Histogram* sync_batch = nullptr;
};

class RocksSpool final : public Spool {
 public:
  static Result<std::unique_ptr<RocksSpool>, std::string> Open(const RocksOptions& opts);
  ~RocksSpool() override;

  void Store(Meta meta, std::string data_prefix, std::string body, Done done) override;
  void UpdateMeta(const Meta& meta, Done done) override;
  Result<std::uint64_t, SpoolError> ForEachMeta(const std::function<void(Meta&&)>& fn) override;
  Result<Meta, SpoolError> ReadMeta(const SpoolId& id) override;
  Result<std::string, SpoolError> ReadData(const SpoolId& id) override;
  Result<std::string, SpoolError> ReadDataChunk(const SpoolId& id, std::uint32_t index) override;
  Result<Meta, SpoolError> ReadMetaCached(const SpoolId& id) override;
  Result<std::string, SpoolError> ReadDataChunkCached(const SpoolId& id,
                                                      std::uint32_t index) override;
  void Remove(const SpoolId& id, std::uint64_t size, Done done) override;
  Result<Ok, SpoolError> Admission(std::uint64_t bytes) override;
  void Close() override;

  // Calls `fn` for every metadata record as stored (undecoded), in key order.
  Result<std::uint64_t, SpoolError> ForEachMetaRecord(
      const std::function<void(std::string_view key, std::string_view bytes)>& fn);
  // Calls `fn` for every data record (each chunk) with its key and size, in
  // key order (reading each value, so every record is known to be readable).
  Result<std::uint64_t, SpoolError> ForEachDataKey(
      const std::function<void(std::string_view key, std::uint64_t size)>& fn);

  SpoolStats stats() const;

 private:
  Result<Meta, SpoolError> GetMeta(const SpoolId& id, const rocksdb::ReadOptions& ro);
  Result<std::string, SpoolError> GetChunk(const SpoolId& id, std::uint32_t index,
                                           const rocksdb::ReadOptions& ro);
  struct Pending {
    std::string key;
    std::string meta;
    std::string prefix;
    std::string body;
    Done done;
    enum class Op { kStore, kMetaOnly, kRemove } op = Op::kStore;
    std::uint64_t seq = 0;        // of its entry in unwritten_, if any
    std::uint64_t data_size = 0;  // kRemove: the octets of data to delete
    bool is_store() const { return op == Op::kStore; }
    std::uint64_t Bytes() const { return key.size() + meta.size() + prefix.size() + body.size(); }
  };
  // What ReadMeta must see of an update or removal not yet in the database.
  struct Unwritten {
    std::uint64_t seq = 0;
    std::optional<std::string> meta;  // nullopt: removed
  };
  // Written batches whose callbacks are still to run, in order.
  struct Completed {
    std::optional<SpoolError> error;
    std::vector<Done> done;
  };
  explicit RocksSpool(const RocksOptions& opts);
  Result<Ok, std::string> OpenDb();
  void CloseDb();
  void Enqueue(Pending p);
  void WriterLoop();
  // Calls `fn` for every record of the metadata (or data) column family.
  Result<std::uint64_t, SpoolError> Scan(
      bool data,
      const std::function<void(const rocksdb::Slice& key, const rocksdb::Slice& value)>& fn);
  // Writes what it can of `batch`; what failed or was refused is completed or
  // put back. Returns false if the database failed.
  bool WriteBatch(std::vector<Pending>& batch);
  // Tries to make the database writable again; true once it is.
  bool Recover();
  // The bytes a store may take beyond its own: a new log and a flush.
  std::uint64_t WriteReserve() const;
  // Takes the space reserve if it is not held and there is room; true if held.
  bool HoldReserve();
  void ReleaseReserve();
  // Asks the reclaim thread to flush and compact (at most every few seconds).
  void RequestReclaim();
  void ReclaimLoop();
  void Reclaim();
  void Complete(std::vector<Pending>& done, std::optional<SpoolError> error);
  void CompletionLoop();

  RocksOptions opts_;
  SpaceReserve reserve_;  // WriteReserve() in size
  // Readers share it; reopening the database after a failure takes it alone.
  mutable std::shared_mutex db_mu_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* meta_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* data_cf_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> queue_;
  std::unordered_map<std::string, Unwritten> unwritten_;
  std::uint64_t seq_ = 0;
  bool closing_ = false;
  bool failed_ = false;        // a write failed and recovery has not yet succeeded
  bool reserve_held_ = false;  // stores wait for it (written by the writer thread)
  SpoolStats stats_;
  std::thread writer_;
  std::chrono::steady_clock::time_point reclaimed_at_{};
  bool reclaim_wanted_ = false;
  std::condition_variable reclaim_cv_;
  std::thread reclaimer_;

  std::mutex done_mu_;
  std::condition_variable done_cv_;
  std::vector<Completed> completed_;
  bool writer_done_ = false;
  std::thread completer_;
};

}  // namespace sluice::spool
