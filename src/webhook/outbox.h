#pragma once
// Durability: an event destined for a webhook is written here (RocksDB, its
// write-ahead log) before the bus counts it as emitted, and leaves only when
// the receiver acknowledged it (2xx) or it outlived the webhook's max_age.
// Writes are not synced one by one: the log is synced every second, so a
// crash of sluiced loses nothing and a power loss at most the last second.
//
// Each webhook's events are kept apart, in the order appended (a sequence
// number per webhook), and read back from the oldest not yet acknowledged.
// Memory does not grow with a backlog: it lives on disk.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace rocksdb {
class DB;
}

namespace sluice::webhook {

struct OutboxRecord {
  std::uint64_t seq = 0;
  std::int64_t at_us = 0;  // when appended (Unix microseconds)
  std::string json;
};

class Outbox {
 public:
  static Result<std::unique_ptr<Outbox>, std::string> Open(const std::string& path);
  ~Outbox();

  // Appends an event for `webhook`; thread-safe. False if it could not be
  // written (the error is counted and logged).
  bool Append(const std::string& webhook, std::string_view json, std::int64_t now_us);
  // Up to `max` of the oldest records not acknowledged, and at most
  // `max_bytes` of JSON (one record at least).
  std::vector<OutboxRecord> Read(const std::string& webhook, std::size_t max,
                                 std::size_t max_bytes) const;
  // Removes the records up to and including `seq`.
  void Ack(const std::string& webhook, std::uint64_t seq);
  // Records waiting, and the time the oldest was appended (0: none).
  std::uint64_t Pending(const std::string& webhook) const;
  std::int64_t OldestUs(const std::string& webhook) const;
  std::uint64_t write_failures() const;
  // Makes the appends so far durable (the write-ahead log synced).
  void Sync();

 private:
  Outbox() = default;
  struct Queue {
    std::uint64_t first = 1;          // oldest not acknowledged
    std::uint64_t next = 1;           // the next to append
    std::set<std::uint64_t> writing;  // numbers taken, records not written yet
  };
  void Load();

  std::unique_ptr<rocksdb::DB> db_;
  mutable std::mutex mu_;
  std::map<std::string, Queue, std::less<>> queues_;
  std::uint64_t write_failures_ = 0;
  std::chrono::steady_clock::time_point warned_at_{};
};

}  // namespace sluice::webhook
