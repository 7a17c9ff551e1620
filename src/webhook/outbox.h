#pragma once
// Durability: an event destined for a webhook is appended here before the bus
// counts it as emitted, and leaves only when the receiver acknowledged it
// (2xx) or it outlived the webhook's max_age.
//
// Each webhook has its own append-only journal, a directory NAME.queue of
// segment files named by the sequence number of their first record. An
// append is one write(2) into the page cache, so a crash of sluiced (kill -9)
// loses nothing; the segments are synced every second (Sync), so a power
// loss loses at most the last second. A record carries its length and a
// CRC-32C: one torn by a power loss ends the journal where it starts. The
// number of the last acknowledged record is kept in NAME.queue/acked;
// segments wholly acknowledged are deleted.
//
// Records are read back in the order appended, from the oldest not yet
// acknowledged. Memory does not grow with a backlog: it lives on disk.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sluice::webhook {

struct OutboxRecord {
  std::uint64_t seq = 0;
  std::int64_t at_us = 0;  // when appended (Unix microseconds)
  std::string json;
};

class Outbox {
 public:
  // `segment_bytes`: a journal moves to a new segment file past this size.
  static Result<std::unique_ptr<Outbox>, std::string> Open(const std::string& path,
                                                           std::size_t segment_bytes = 16u << 20);
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Appends an event for `webhook`; thread-safe. False if it could not be
  // written (the error is counted and logged).
  bool Append(const std::string& webhook, std::string_view json, std::int64_t now_us);
  // Up to `max` of the oldest records not acknowledged, and at most
  // `max_bytes` of JSON (one record at least).
  std::vector<OutboxRecord> Read(const std::string& webhook, std::size_t max,
                                 std::size_t max_bytes) const;
  // Removes the records up to and including `seq`. One consumer per webhook.
  void Ack(const std::string& webhook, std::uint64_t seq);
  // Records waiting, and the time the oldest was appended (0: none).
  std::uint64_t Pending(const std::string& webhook) const;
  std::int64_t OldestUs(const std::string& webhook) const;
  std::uint64_t write_failures() const;
  // Makes the appends so far durable (the segments written since synced).
  void Sync();

  struct File;
  struct Segment {
    std::uint64_t first = 0;  // the sequence number of its first record
    std::uint64_t size = 0;   // bytes of whole records
    std::shared_ptr<File> file;
  };
  // Where the oldest record not acknowledged starts.
  struct Cursor {
    std::uint64_t seq = 0;
    std::uint64_t segment = 0;  // its segment's `first`
    std::uint64_t offset = 0;
  };
  struct Queue;

 private:
  Outbox(std::string path, std::size_t segment_bytes);
  Queue* Find(std::string_view webhook) const;
  Queue& Get(const std::string& webhook);
  void Load();
  void Warn(const std::string& webhook, const std::string& error);

  std::string path_;
  std::size_t segment_bytes_;
  mutable std::mutex mu_;  // guards queues_ (the map, not the queues)
  std::map<std::string, std::unique_ptr<Queue>, std::less<>> queues_;
  std::uint64_t write_failures_ = 0;
  std::chrono::steady_clock::time_point warned_at_{};
};

}  // namespace sluice::webhook
