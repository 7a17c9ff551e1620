#include "spool/rocks_spool.h"

#include <algorithm>
#include <filesystem>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include "core/disk_space.h"
#include "core/thread_name.h"
#include "metrics/metrics.h"
#include "spool/data_chunks.h"
#include "spool/rocks_logger.h"

namespace sluice::spool {
namespace {
constexpr const char* kDataCf = "data";
// Recently flushed message data kept in memory (large values live in blob files).
constexpr std::size_t kBlobCacheBytes = 64u << 20;
// Reclaiming space (flush and compaction, so logs and blob files of delivered
// mail are deleted) at most this often.
constexpr auto kReclaimInterval = std::chrono::seconds(5);

std::string KeyOf(const SpoolId& id) {
  auto k = id.Key();
  return std::string(k.data(), k.size());
}

}  // namespace

Result<std::unique_ptr<RocksSpool>, std::string> RocksSpool::Open(const RocksOptions& opts) {
  std::unique_ptr<RocksSpool> s(new RocksSpool(opts));
  std::error_code ec;
  if (!opts.read_only) {
    std::filesystem::create_directories(opts.path, ec);
    if (ec) {
      return Fail("cannot create spool directory " + opts.path + ": " + ec.message());
    }
  }
  if (!opts.read_only) {
    // Opening replays the log and flushes it: on a full disk the reserve
    // left there makes the room for that (and is taken again after, if it can).
    auto free = FreeDiskBytes(opts.path);
    if (free && *free < opts.min_free_disk + 2 * s->WriteReserve()) {
      s->reserve_.Give();
    }
  }
  if (auto opened = s->OpenDb(); !opened) {
    return Fail(opened.error());
  }
  if (!opts.read_only) {
    if (!s->HoldReserve()) {
      spdlog::warn(
          "spool {}: no room for the space reserve ({} bytes): mail is refused until "
          "there is",
          opts.path, s->WriteReserve());
    }
    s->writer_ = std::thread([p = s.get()] {
      NameThisThread("spool-write");
      p->WriterLoop();
    });
    s->completer_ = std::thread([p = s.get()] {
      NameThisThread("spool-done");
      p->CompletionLoop();
    });
    s->reclaimer_ = std::thread([p = s.get()] {
      NameThisThread("spool-reclaim");
      p->ReclaimLoop();
    });
  }
  return s;
}

Result<Ok, std::string> RocksSpool::OpenDb() {
  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.IncreaseParallelism(2);
  // Mail comes and goes: a log holds mostly delivered mail, so logs are kept
  // few and short, and the memtables flushed once they exceed this.
  db_opts.max_total_wal_size = 4 * opts_.memtable_bytes;
  db_opts.info_log = MakeRocksLogger();
  // Bounded, so the spool never takes the descriptors sessions and outbound
  // connections need (server.reserved_descriptors counts these).
  db_opts.max_open_files = 256;

  rocksdb::ColumnFamilyOptions meta_opts;
  meta_opts.OptimizeForPointLookup(64);
  meta_opts.write_buffer_size = opts_.memtable_bytes;
  rocksdb::ColumnFamilyOptions data_opts;
  data_opts.write_buffer_size = opts_.memtable_bytes;
  data_opts.enable_blob_files = true;
  data_opts.min_blob_size = 4096;
  data_opts.enable_blob_garbage_collection = true;
  // Message data just flushed stays readable from memory for a while, so
  // delivery, usually close behind reception, need not wait on the disk.
  data_opts.blob_cache = rocksdb::NewLRUCache(kBlobCacheBytes);
  data_opts.prepopulate_blob_cache = rocksdb::PrepopulateBlobCache::kFlushOnly;

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, meta_opts}, {kDataCf, data_opts}};
  rocksdb::DB* raw = nullptr;
  rocksdb::Status st;
  if (opts_.read_only) {
    st = rocksdb::DB::OpenForReadOnly(db_opts, opts_.path, cfs, &handles_, &raw);
  } else {
    st = rocksdb::DB::Open(db_opts, opts_.path, cfs, &handles_, &raw);
  }
  if (!st.ok()) {
    return Fail("cannot open spool " + opts_.path + ": " + st.ToString());
  }
  db_.reset(raw);
  meta_cf_ = handles_[0];
  data_cf_ = handles_[1];
  return Ok{};
}

void RocksSpool::CloseDb() {
  if (!db_) {
    return;
  }
  for (auto* h : handles_) {
    db_->DestroyColumnFamilyHandle(h);
  }
  handles_.clear();
  meta_cf_ = data_cf_ = nullptr;
  auto st = db_->Close();
  if (!st.ok()) {
    spdlog::warn("spool {}: close: {}", opts_.path, st.ToString());
  }
  db_.reset();
}

RocksSpool::~RocksSpool() {
  Close();
  CloseDb();
}

void RocksSpool::Store(Meta meta, std::string data_prefix, std::string body, Done done) {
  Enqueue(Pending{KeyOf(meta.id), EncodeMeta(meta), std::move(data_prefix), std::move(body),
                  std::move(done), Pending::Op::kStore});
}

void RocksSpool::UpdateMeta(const Meta& meta, Done done) {
  Enqueue(
      Pending{KeyOf(meta.id), EncodeMeta(meta), {}, {}, std::move(done), Pending::Op::kMetaOnly});
}

void RocksSpool::Remove(const SpoolId& id, std::uint64_t size, Done done) {
  Pending p{KeyOf(id), {}, {}, {}, std::move(done), Pending::Op::kRemove};
  p.data_size = size;
  Enqueue(std::move(p));
}

void RocksSpool::Enqueue(Pending p) {
  SpoolError refusal = SpoolError::kClosed;
  {
    std::lock_guard lock(mu_);
    if ((failed_ || !reserve_held_) && p.is_store() && !closing_) {
      ++stats_.refused;
      refusal = SpoolError::kFull;
    } else if (!closing_ && !opts_.read_only) {
      if (!p.is_store()) {
        p.seq = ++seq_;
        auto& u = unwritten_[p.key];
        u.seq = p.seq;
        if (p.op == Pending::Op::kRemove) {
          u.meta.reset();
        } else {
          u.meta = p.meta;
        }
      }
      queue_.push_back(std::move(p));
      cv_.notify_one();
      return;
    }
  }
  p.done(Fail(refusal));
}

// A new log is preallocated to 1.1 write buffers; a flush writes up to one.
RocksSpool::RocksSpool(const RocksOptions& opts)
    : opts_(opts), reserve_(opts.path, opts.memtable_bytes * 21 / 10) {}

std::uint64_t RocksSpool::WriteReserve() const {
  return reserve_.size();
}

bool RocksSpool::HoldReserve() {
  {
    std::lock_guard lock(mu_);
    if (reserve_held_) {
      return true;
    }
  }
  if (!reserve_.Take(opts_.min_free_disk + WriteReserve())) {
    return false;
  }
  std::lock_guard lock(mu_);
  reserve_held_ = true;
  return true;
}

void RocksSpool::ReleaseReserve() {
  reserve_.Give();
  std::lock_guard lock(mu_);
  if (reserve_held_) {
    spdlog::warn("spool {}: space reserve given up so the spool can recover", opts_.path);
  }
  reserve_held_ = false;
}

Result<Ok, SpoolError> RocksSpool::Admission(std::uint64_t bytes) {
  {
    std::lock_guard lock(mu_);
    if (closing_) {
      return Fail(SpoolError::kClosed);
    }
    if (failed_ || !reserve_held_) {
      return Fail(SpoolError::kFull);
    }
  }
  if (opts_.min_free_disk > 0) {
    auto free = FreeDiskBytes(opts_.path);
    if (free && *free < opts_.min_free_disk + WriteReserve() + bytes) {
      RequestReclaim();
      return Fail(SpoolError::kFull);
    }
  }
  return Ok{};
}

void RocksSpool::RequestReclaim() {
  {
    std::lock_guard lock(mu_);
    auto now = std::chrono::steady_clock::now();
    if (now - reclaimed_at_ < kReclaimInterval || opts_.read_only) {
      return;
    }
    reclaimed_at_ = now;
    reclaim_wanted_ = true;
  }
  reclaim_cv_.notify_one();
}

void RocksSpool::ReclaimLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    reclaim_cv_.wait(lock, [&] { return reclaim_wanted_ || closing_; });
    if (closing_) {
      return;
    }
    reclaim_wanted_ = false;
    lock.unlock();
    Reclaim();
    lock.lock();
  }
}

void RocksSpool::Reclaim() {
  std::shared_lock db_lock(db_mu_);
  if (!db_) {
    return;
  }
  // Flushed memtables let their logs be deleted; compacting drops the keys of
  // removed mail, and a blob file no key refers to any more is deleted. Live
  // mail's blobs are moved out of the oldest files (blob garbage collection).
  rocksdb::FlushOptions fo;
  fo.allow_write_stall = true;
  auto st = db_->Flush(fo, {meta_cf_, data_cf_});
  rocksdb::CompactRangeOptions co;
  co.allow_write_stall = true;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  for (auto* cf : {data_cf_, meta_cf_}) {
    if (st.ok()) {
      st = db_->CompactRange(co, cf, nullptr, nullptr);
    }
  }
  if (!st.ok() && !st.IsIncomplete()) {
    spdlog::warn("spool {}: reclaiming space: {}", opts_.path, st.ToString());
  }
}

void RocksSpool::WriterLoop() {
  std::vector<Pending> batch;
  auto next_reserve_try = std::chrono::steady_clock::now();
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (failed_) {
        cv_.wait_for(lock, opts_.recovery_interval, [&] { return closing_; });
        const bool closing = closing_;
        lock.unlock();
        const bool recovered = Recover();
        lock.lock();
        if (recovered) {
          failed_ = false;
          ++stats_.recoveries;
          spdlog::info("spool {}: writing again, {} queued writes to catch up", opts_.path,
                       queue_.size());
          lock.unlock();
          RequestReclaim();
          continue;
        }
        if (!closing) {
          continue;
        }
        // Shutting down with the storage still failing: what is left is lost
        // to the spool (a removal not written means a delivery made again).
        std::vector<Pending> left;
        left.swap(queue_);
        unwritten_.clear();
        lock.unlock();
        if (!left.empty()) {
          spdlog::error("spool {}: {} queue updates not written (storage failing at shutdown)",
                        opts_.path, left.size());
        }
        Complete(left, SpoolError::kIo);
        return;
      }
      if (!reserve_held_ && !closing_) {
        // Stores wait for the reserve: take it back once there is room, and
        // meanwhile flush so that logs of delivered mail give their space back.
        auto now = std::chrono::steady_clock::now();
        if (now >= next_reserve_try) {
          next_reserve_try = now + opts_.recovery_interval;
          lock.unlock();
          if (HoldReserve()) {
            spdlog::info("spool {}: space reserve taken again; accepting mail", opts_.path);
          } else {
            RequestReclaim();
          }
          continue;
        }
        cv_.wait_until(lock, next_reserve_try, [&] { return !queue_.empty() || closing_; });
        if (queue_.empty()) {
          continue;
        }
      } else {
        cv_.wait(lock, [&] { return !queue_.empty() || closing_; });
      }
      if (queue_.empty()) {
        return;  // closing and drained
      }
      // Up to max_batch writes and max_batch_bytes (at least one write): the
      // batch is copied into the log and the memtable, so its size is memory.
      std::size_t n = 0;
      std::uint64_t bytes = 0;
      while (n < queue_.size() && n < opts_.max_batch &&
             (n == 0 || bytes + queue_[n].Bytes() <= opts_.max_batch_bytes)) {
        bytes += queue_[n].Bytes();
        ++n;
      }
      if (n == queue_.size()) {
        batch.swap(queue_);
      } else {
        auto mid = queue_.begin() + static_cast<std::ptrdiff_t>(n);
        batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(mid));
        queue_.erase(queue_.begin(), mid);
      }
    }
    WriteBatch(batch);
    batch.clear();
  }
}

bool RocksSpool::WriteBatch(std::vector<Pending>& batch) {
  // The floor: stores that would leave too little room are refused, in order.
  std::vector<Pending> refused;
  bool held = false;
  {
    std::lock_guard lock(mu_);
    held = reserve_held_;
  }
  if (!held) {
    for (auto it = batch.begin(); it != batch.end();) {
      if (it->is_store()) {
        refused.push_back(std::move(*it));
        it = batch.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (opts_.min_free_disk > 0 &&
      std::any_of(batch.begin(), batch.end(), [](const Pending& p) { return p.is_store(); })) {
    if (auto free = FreeDiskBytes(opts_.path)) {
      const std::uint64_t keep = opts_.min_free_disk + WriteReserve();
      std::uint64_t room = *free > keep ? *free - keep : 0;
      for (auto it = batch.begin(); it != batch.end();) {
        if (!it->is_store()) {
          ++it;
        } else if (it->Bytes() <= room) {
          room -= it->Bytes();
          ++it;
        } else {
          refused.push_back(std::move(*it));
          it = batch.erase(it);
        }
      }
    }
  }
  if (!refused.empty()) {
    {
      std::lock_guard lock(mu_);
      stats_.refused += refused.size();
    }
    RequestReclaim();
    Complete(refused, SpoolError::kFull);
  }
  if (batch.empty()) {
    return true;
  }

  rocksdb::WriteBatch wb;
  rocksdb::Status st;
  for (auto& p : batch) {
    if (p.op == Pending::Op::kRemove) {
      // Metadata first: a message without metadata is gone.
      st = wb.Delete(meta_cf_, p.key);
      for (std::uint32_t i = 0; st.ok() && i < ChunkCount(p.data_size); ++i) {
        st = wb.Delete(data_cf_, ChunkKey(p.key, i));
      }
    } else {
      // Data first; metadata marks the message as present.
      if (p.is_store()) {
        const auto chunks = ChunkCount(p.prefix.size() + p.body.size());
        for (std::uint32_t i = 0; st.ok() && i < chunks; ++i) {
          auto piece = ChunkOf(p.prefix, p.body, i);
          rocksdb::Slice parts[2] = {rocksdb::Slice(piece.first.data(), piece.first.size()),
                                     rocksdb::Slice(piece.second.data(), piece.second.size())};
          const std::string chunk_key = ChunkKey(p.key, i);
          rocksdb::Slice k(chunk_key);
          st = wb.Put(data_cf_, rocksdb::SliceParts(&k, 1), rocksdb::SliceParts(parts, 2));
        }
        // The batch holds its own copy now: let the original go, so a large
        // message is not held twice while the log is written and synced.
        std::string().swap(p.prefix);
        std::string().swap(p.body);
      }
      if (st.ok()) {
        st = wb.Put(meta_cf_, p.key, p.meta);
      }
    }
    if (!st.ok()) {
      break;
    }
  }
  // Only a store waits for stable storage (its 250 depends on it). Updates
  // and removals go to the log in order without a sync of their own: the
  // next store's sync, or the kernel's writeback, makes them durable.
  const bool sync =
      std::any_of(batch.begin(), batch.end(), [](const Pending& p) { return p.is_store(); });
  if (st.ok()) {
    std::shared_lock db_lock(db_mu_);
    if (!db_) {
      st = rocksdb::Status::IOError("spool database closed after a failure");
    } else {
      rocksdb::WriteOptions wo;
      wo.sync = sync;
      const auto began = std::chrono::steady_clock::now();
      st = db_->Write(wo, &wb);
      if (sync && opts_.sync_seconds != nullptr) {
        opts_.sync_seconds->Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
      }
      if (sync && opts_.sync_batch != nullptr) {
        opts_.sync_batch->Observe(static_cast<double>(std::count_if(
            batch.begin(), batch.end(), [](const Pending& p) { return p.is_store(); })));
      }
    }
  }
  std::vector<Pending> stores;
  std::vector<Pending> rejected;
  {
    std::lock_guard lock(mu_);
    stats_.stores += batch.size();
    stats_.syncs += sync ? 1 : 0;
    if (st.ok()) {
      for (const auto& p : batch) {
        auto it = p.seq != 0 ? unwritten_.find(p.key) : unwritten_.end();
        if (it != unwritten_.end() && it->second.seq == p.seq) {
          unwritten_.erase(it);
        }
      }
    } else {
      // Nothing more is written until the database recovers. Stores fail (the
      // client is told); updates and removals wait at the head of the queue,
      // in order, and readers keep seeing them; queued stores are refused.
      failed_ = true;
      ++stats_.write_failures;
      std::vector<Pending> retry;
      for (auto& p : batch) {
        (p.is_store() ? stores : retry).push_back(std::move(p));
      }
      for (auto& p : queue_) {
        (p.is_store() ? rejected : retry).push_back(std::move(p));
      }
      queue_.swap(retry);
      stats_.refused += rejected.size();
      batch.clear();
    }
  }
  if (!st.ok()) {
    spdlog::error("spool {}: write failed, refusing mail until it recovers: {}", opts_.path,
                  st.ToString());
    ReleaseReserve();
    Complete(stores, SpoolError::kIo);
    Complete(rejected, SpoolError::kFull);
    return false;
  }
  Complete(batch, std::nullopt);
  return true;
}

bool RocksSpool::Recover() {
  auto free = FreeDiskBytes(opts_.path);
  if (free && *free < WriteReserve()) {
    return false;  // nothing to try until there is room for a log and a flush
  }
  // The database is closed and opened again rather than resumed: opening
  // replays the log up to its last whole record and starts a new log, however
  // the failure left the old. (DB::Resume() may clear a failed log write and
  // go on appending to the log whose writer failed, which RocksDB asserts
  // against.)
  spdlog::warn("spool {}: reopening the database to recover", opts_.path);
  std::unique_lock db_lock(db_mu_);
  CloseDb();
  auto opened = OpenDb();
  if (!opened) {
    spdlog::error("spool {}: {}", opts_.path, opened.error());
    return false;
  }
  return true;
}

void RocksSpool::Complete(std::vector<Pending>& done, std::optional<SpoolError> error) {
  if (done.empty()) {
    return;
  }
  // Callbacks run on the completion thread, so the next batch's write and
  // sync start at once rather than after them.
  Completed c;
  c.error = error;
  c.done.reserve(done.size());
  for (auto& p : done) {
    if (p.done) {
      c.done.push_back(std::move(p.done));
    }
  }
  done.clear();
  {
    std::lock_guard lock(done_mu_);
    completed_.push_back(std::move(c));
  }
  done_cv_.notify_one();
}

void RocksSpool::CompletionLoop() {
  std::vector<Completed> ready;
  while (true) {
    {
      std::unique_lock lock(done_mu_);
      done_cv_.wait(lock, [&] { return !completed_.empty() || writer_done_; });
      if (completed_.empty()) {
        return;  // the writer has finished and everything is delivered
      }
      ready.swap(completed_);
    }
    for (auto& c : ready) {
      for (auto& done : c.done) {
        if (!c.error) {
          done(Ok{});
        } else {
          done(Fail(*c.error));
        }
      }
    }
    ready.clear();
  }
}

void RocksSpool::Close() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
    cv_.notify_all();
    reclaim_cv_.notify_all();
  }
  {
    std::shared_lock db_lock(db_mu_);
    if (db_ && reclaimer_.joinable()) {
      db_->DisableManualCompaction();  // a reclaim under way stops now
    }
  }
  if (reclaimer_.joinable()) {
    reclaimer_.join();
  }
  if (writer_.joinable()) {
    writer_.join();
  }
  {
    std::lock_guard lock(done_mu_);
    writer_done_ = true;
  }
  done_cv_.notify_all();
  if (completer_.joinable()) {
    completer_.join();
  }
}

Result<std::uint64_t, SpoolError> RocksSpool::ForEachMeta(const std::function<void(Meta&&)>& fn) {
  bool corrupt = false;
  auto n = ForEachMetaRecord([&](std::string_view, std::string_view bytes) {
    if (corrupt) {
      return;
    }
    auto m = DecodeMeta(bytes);
    if (!m) {
      corrupt = true;
      return;
    }
    fn(std::move(m).value());
  });
  if (n && corrupt) {
    return Fail(SpoolError::kCorrupt);
  }
  return n;
}

Result<std::uint64_t, SpoolError> RocksSpool::Scan(
    bool data,
    const std::function<void(const rocksdb::Slice& key, const rocksdb::Slice& value)>& fn) {
  std::shared_lock db_lock(db_mu_);
  if (!db_) {
    return Fail(SpoolError::kIo);
  }
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, data ? data_cf_ : meta_cf_));
  std::uint64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    fn(it->key(), it->value());
    ++n;
  }
  if (!it->status().ok()) {
    return Fail(SpoolError::kIo);
  }
  return n;
}

Result<std::uint64_t, SpoolError> RocksSpool::ForEachMetaRecord(
    const std::function<void(std::string_view key, std::string_view bytes)>& fn) {
  return Scan(false, [&fn](const rocksdb::Slice& key, const rocksdb::Slice& value) {
    fn(std::string_view(key.data(), key.size()), std::string_view(value.data(), value.size()));
  });
}

Result<std::uint64_t, SpoolError> RocksSpool::ForEachDataKey(
    const std::function<void(std::string_view key, std::uint64_t size)>& fn) {
  return Scan(true, [&fn](const rocksdb::Slice& key, const rocksdb::Slice& value) {
    fn(std::string_view(key.data(), key.size()), value.size());
  });
}

Result<Meta, SpoolError> RocksSpool::ReadMeta(const SpoolId& id) {
  return GetMeta(id, rocksdb::ReadOptions());
}

Result<Meta, SpoolError> RocksSpool::ReadMetaCached(const SpoolId& id) {
  rocksdb::ReadOptions ro;
  ro.read_tier = rocksdb::kBlockCacheTier;  // memtables and block cache only
  return GetMeta(id, ro);
}

Result<std::string, SpoolError> RocksSpool::ReadDataChunk(const SpoolId& id, std::uint32_t index) {
  return GetChunk(id, index, rocksdb::ReadOptions());
}

Result<std::string, SpoolError> RocksSpool::ReadDataChunkCached(const SpoolId& id,
                                                                std::uint32_t index) {
  rocksdb::ReadOptions ro;
  ro.read_tier = rocksdb::kBlockCacheTier;
  auto chunk = GetChunk(id, index, ro);
  // RocksDB 7.8 answers a memory-only read of a value in a blob file that is
  // not in the blob cache with OK and no data (seen after a restart on a full
  // disk). Stored data is never empty (it has a Received field at least).
  if (chunk && chunk.value().empty()) {
    return Fail(SpoolError::kWouldBlock);
  }
  return chunk;
}

Result<Meta, SpoolError> RocksSpool::GetMeta(const SpoolId& id, const rocksdb::ReadOptions& ro) {
  const std::string key = KeyOf(id);
  std::string value;
  {
    std::lock_guard lock(mu_);
    auto it = unwritten_.find(key);
    if (it != unwritten_.end()) {
      if (!it->second.meta) {
        return Fail(SpoolError::kNotFound);
      }
      value = *it->second.meta;
    }
  }
  if (value.empty()) {
    std::shared_lock db_lock(db_mu_);
    auto st = db_ ? db_->Get(ro, meta_cf_, key, &value) : rocksdb::Status::IOError("closed");
    if (st.IsNotFound()) {
      return Fail(SpoolError::kNotFound);
    }
    if (st.IsIncomplete()) {
      return Fail(SpoolError::kWouldBlock);
    }
    if (!st.ok()) {
      return Fail(SpoolError::kIo);
    }
  }
  return DecodeMeta(value);
}

Result<std::string, SpoolError> RocksSpool::GetChunk(const SpoolId& id, std::uint32_t index,
                                                     const rocksdb::ReadOptions& ro) {
  std::string value;
  std::shared_lock db_lock(db_mu_);
  auto st = db_ ? db_->Get(ro, data_cf_, ChunkKey(KeyOf(id), index), &value)
                : rocksdb::Status::IOError("closed");
  if (st.IsNotFound()) {
    return Fail(SpoolError::kNotFound);
  }
  if (st.IsIncomplete()) {
    return Fail(SpoolError::kWouldBlock);
  }
  if (!st.ok()) {
    return Fail(SpoolError::kIo);
  }
  return value;
}

Result<std::string, SpoolError> RocksSpool::ReadData(const SpoolId& id) {
  auto data = ReadDataChunk(id, 0);
  // Only a full chunk can have a next one (a spool from before chunks holds
  // the whole message, of any size, as chunk 0).
  for (std::uint32_t i = 1; data && data.value().size() == std::uint64_t{i} * kDataChunk; ++i) {
    auto more = ReadDataChunk(id, i);
    if (!more) {
      if (more.error() == SpoolError::kNotFound) {
        break;
      }
      return Fail(more.error());
    }
    data.value() += more.value();
  }
  return data;
}

SpoolStats RocksSpool::stats() const {
  std::lock_guard lock(mu_);
  SpoolStats s = stats_;
  s.writable = !failed_;
  s.reserve_held = reserve_held_;
  return s;
}

}  // namespace sluice::spool
