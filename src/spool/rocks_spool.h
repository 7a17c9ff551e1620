#pragma once
// The RocksDB spool. Column family "default" holds metadata, "data" holds
// message content (in blob files, since bodies are large and short-lived).
//
// Group commit: Store() only queues. One writer thread takes everything queued,
// writes it as one WriteBatch with sync=true, then completes every callback,
// so N concurrent sessions cost one fsync, not N.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "spool/spool.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace sluice::spool {

struct RocksOptions {
  std::string path;
  bool read_only = false;        // for the CLI while sluiced runs
  std::size_t max_batch = 1024;  // stores per grouped sync
};

struct SpoolStats {
  std::uint64_t stores = 0;
  std::uint64_t syncs = 0;
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
  void Remove(const SpoolId& id, Done done) override;
  void Close() override;

  SpoolStats stats() const;

 private:
  struct Pending {
    std::string key;
    std::string meta;
    std::string prefix;
    std::string body;
    Done done;
    enum class Op { kStore, kMetaOnly, kRemove } op = Op::kStore;
    std::uint64_t seq = 0;  // of its entry in unwritten_, if any
  };
  // What ReadMeta must see of an update or removal not yet in the database.
  struct Unwritten {
    std::uint64_t seq = 0;
    std::optional<std::string> meta;  // nullopt: removed
  };
  RocksSpool() = default;
  void Enqueue(Pending p);
  void WriterLoop();
  void CompletionLoop();

  RocksOptions opts_;
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
  SpoolStats stats_;
  std::thread writer_;

  // Written batches whose callbacks are still to run, in order.
  struct Completed {
    bool ok = false;
    std::vector<Done> done;
  };
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  std::vector<Completed> completed_;
  bool writer_done_ = false;
  std::thread completer_;
};

}  // namespace sluice::spool
