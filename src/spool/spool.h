#pragma once
// Security: stores accepted mail; what is here is our responsibility to deliver.
// Standards: none on the wire; the durability contract of docs/life-of-a-message.md.
// Durability: Store() calls back only after the record is on stable storage
//             (write-ahead log synced). The SMTP 250 waits for that callback.
//             UpdateMeta() and Remove() are logged in order but not synced on
//             their own: they survive a crash of the process, and reach disk
//             with the next store's sync or the kernel's writeback; a power
//             loss may undo the last few (at worst, a message is sent again).
//             A failed write of an update or removal is not dropped: it is
//             written again, in order, once the storage works again.
//
// A message is two records under the same key: its metadata (envelope and
// queue state, small, scanned at start-up) and its data (headers and body,
// read only when a delivery needs it, a piece at a time).

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/envelope.h"
#include "core/result.h"
#include "core/spool_id.h"

namespace sluice::spool {

enum class SpoolError {
  kIo,       // the storage failed: the client gets 451 4.3.0
  kFull,     // no room (below the floor, or recovering from a failed write): 452 4.3.1
  kCorrupt,  // a record could not be decoded
  kClosed,   // the spool is shutting down: 421 4.3.2
  kNotFound,
  kWouldBlock,  // a memory-only read (ReadMetaCached ...) would need the disk
};
const char* ToString(SpoolError e);

struct Meta {
  SpoolId id;
  Envelope envelope;
  std::int64_t received_us = 0;  // reception time, microseconds since the epoch
  std::string listener;
  std::string client_ip;
  std::string auth_user;
  std::string tenant;      // who sends (queue/queue_name.h); empty: none
  std::string campaign;    // the X-Campaign tag; empty: none
  std::uint64_t size = 0;  // octets of the stored data
  // What an API request attached (carried into every event of the message),
  // and when it asked the first attempt to be made (0: at once). Expiry
  // counts from the later of reception and send_at.
  std::vector<std::pair<std::string, std::string>> metadata;
  std::int64_t send_at_us = 0;
  // The message's own Message-ID field value ("<...>", as it has it, or as
  // submission added it); empty: none. Carried into every event.
  std::string message_id;
  // Queue state, advanced by deliveries.
  std::uint32_t attempts = 0;
  std::int64_t due_us = 0;
  // Flags per recipient: kFinal once its final outcome (delivered, bounced,
  // expired) is recorded; kDelayReported once a delay report went out for it.
  static constexpr std::uint8_t kFinal = 1;
  static constexpr std::uint8_t kDelayReported = 2;
  std::vector<std::uint8_t> done;
  bool IsDone(std::size_t i) const { return i < done.size() && (done[i] & kFinal) != 0; }
  std::int64_t StartUs() const { return std::max(received_us, send_at_us); }
};

// What the spool has done and whether it takes mail (`sluice spool status`).
struct SpoolStats {
  std::uint64_t stores = 0;
  std::uint64_t syncs = 0;
  std::uint64_t write_failures = 0;  // batches RocksDB failed to write
  std::uint64_t refused = 0;         // stores refused for want of room
  std::uint64_t recoveries = 0;      // times writing resumed after a failure
  bool writable = true;              // false while recovering from a failure
  bool reserve_held = false;         // the space reserve is in place
};

std::string EncodeMeta(const Meta& m);
Result<Meta, SpoolError> DecodeMeta(std::string_view bytes);

class Spool {
 public:
  using Done = std::function<void(Result<Ok, SpoolError>)>;
  virtual ~Spool() = default;

  // Writes meta and data (prefix + body, stored as one value) durably, then
  // calls `done` from a spool thread. Concurrent stores share one sync.
  virtual void Store(Meta meta, std::string data_prefix, std::string body, Done done) = 0;
  // Rewrites the metadata only (queue state), durably, sharing syncs as Store does.
  virtual void UpdateMeta(const Meta& meta, Done done) = 0;
  // Calls `fn` for every stored message's metadata, in reception order.
  virtual Result<std::uint64_t, SpoolError> ForEachMeta(const std::function<void(Meta&&)>& fn) = 0;
  // One message's metadata; sees every UpdateMeta and Remove issued before it,
  // written yet or not (kNotFound once removed).
  virtual Result<Meta, SpoolError> ReadMeta(const SpoolId& id) = 0;
  // The whole message data.
  virtual Result<std::string, SpoolError> ReadData(const SpoolId& id) = 0;
  // Piece `index` (0, 1, ...) of the message data, in order: the data is
  // stored in pieces of up to 1 MiB (data_chunks.h). kNotFound past the last.
  virtual Result<std::string, SpoolError> ReadDataChunk(const SpoolId& id, std::uint32_t index) = 0;
  // The same two reads from memory only (what was written lately, or read
  // lately): kWouldBlock where the disk would have to be read. For a
  // reactor thread, which may not wait on the disk.
  virtual Result<Meta, SpoolError> ReadMetaCached(const SpoolId&) {
    return Fail(SpoolError::kWouldBlock);
  }
  virtual Result<std::string, SpoolError> ReadDataChunkCached(const SpoolId&, std::uint32_t) {
    return Fail(SpoolError::kWouldBlock);
  }
  // Deletes meta and data (of `size` octets, Meta::size), durably, in order
  // with earlier Store/UpdateMeta calls.
  virtual void Remove(const SpoolId& id, std::uint64_t size, Done done) = 0;
  // Whether a store of about `bytes` would be taken now: kFull below the
  // disk floor or while the spool recovers from a failed write.
  virtual Result<Ok, SpoolError> Admission(std::uint64_t bytes) = 0;
  // Finishes queued writes and closes; later stores fail with kClosed.
  virtual void Close() = 0;
};

}  // namespace sluice::spool
