#include "spool/history_store.h"

#include <filesystem>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/spool_id.h"
#include "core/thread_name.h"
#include "spool/rocks_logger.h"

namespace sluice::spool {
namespace {

constexpr std::size_t kIdBytes = 16;
constexpr std::int64_t kExpireEveryUs = 3600LL * 1000 * 1000;
// A batch is written once this many events wait, or this long after the first.
constexpr std::size_t kBatchEvents = 1000;
constexpr auto kBatchWait = std::chrono::milliseconds(20);
// Past this many waiting (the disk stalls), new events are dropped and counted.
constexpr std::size_t kMaxPending = 200000;

void PutBigEndian(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

std::int64_t NowUs() {
  return ToMicros(std::chrono::system_clock::now());
}

}  // namespace

Result<std::unique_ptr<HistoryStore>, std::string> HistoryStore::Open(const Options& opts) {
  std::error_code ec;
  std::filesystem::create_directories(opts.path, ec);
  if (ec) {
    return Fail("cannot create history directory " + opts.path + ": " + ec.message());
  }
  rocksdb::DBOptions o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  o.info_log = MakeRocksLogger();
  o.max_open_files = 64;
  o.max_total_wal_size = 16u << 20;
  // Small: written in batches, read now and then; memory goes to mail.
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = 4u << 20;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(1u << 20);
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{rocksdb::kDefaultColumnFamilyName, cf},
                                                      {"records", cf}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(o, opts.path, cfs, &handles, &raw);
  if (!st.ok()) {
    return Fail("cannot open history " + opts.path + ": " + st.ToString());
  }
  std::unique_ptr<HistoryStore> h(new HistoryStore(opts));
  h->db_.reset(raw);
  h->handles_ = std::move(handles);
  // Sequence numbers only order one message's events; starting from the
  // clock keeps them rising across restarts.
  h->seq_ = static_cast<std::uint64_t>(NowUs()) << 8;
  h->Expire(std::chrono::system_clock::now());
  h->writer_ = std::thread([p = h.get()] {
    NameThisThread("history");
    p->WriterLoop();
  });
  return h;
}

HistoryStore::HistoryStore(Options opts) : opts_(std::move(opts)) {}

HistoryStore::~HistoryStore() {
  if (writer_.joinable()) {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    wake_.notify_one();
    writer_.join();  // writes what is left first
  }
  if (db_) {
    for (auto* h : handles_) {
      db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    db_->Close().PermitUncheckedError();
  }
}

void HistoryStore::AppendRecord(std::int64_t at_us, std::string_view value) {
  std::string key;
  PutBigEndian(key, static_cast<std::uint64_t>(at_us));
  PutBigEndian(key, seq_.fetch_add(1, std::memory_order_relaxed));
  auto st = db_->Put(rocksdb::WriteOptions(), handles_[1], key,
                     rocksdb::Slice(value.data(), value.size()));
  if (!st.ok() && failures_.fetch_add(1, std::memory_order_relaxed) % 10000 == 0) {
    spdlog::warn("API records: cannot write: {} (counted, not retried)", st.ToString());
  }
}

void HistoryStore::ForEachRecord(std::int64_t since_us,
                                 const std::function<void(std::int64_t, std::string_view)>& fn) {
  std::string from;
  PutBigEndian(from, static_cast<std::uint64_t>(std::max<std::int64_t>(since_us, 0)));
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[1]));
  for (it->Seek(from); it->Valid(); it->Next()) {
    const auto k = it->key();
    if (k.size() != 16) {
      continue;
    }
    std::uint64_t at = 0;
    for (int i = 0; i < 8; ++i) {
      at = (at << 8) | static_cast<unsigned char>(k[i]);
    }
    fn(static_cast<std::int64_t>(at), std::string_view(it->value().data(), it->value().size()));
  }
}

void HistoryStore::Append(std::string_view message_id, std::string_view line) {
  auto id = SpoolId::FromHex(message_id);
  if (!id) {
    return;
  }
  const auto now = NowUs();
  if (now >= next_expiry_us_.load(std::memory_order_relaxed)) {
    Expire(FromMicros(now));
  }
  auto k = id->Key();
  std::string key(k.data(), k.size());
  PutBigEndian(key, seq_.fetch_add(1, std::memory_order_relaxed));
  {
    std::lock_guard lock(mu_);
    if (pending_.size() >= kMaxPending) {
      if (failures_.fetch_add(1, std::memory_order_relaxed) % 10000 == 0) {
        spdlog::warn("message history: {} events wait to be written; dropping (counted)",
                     pending_.size());
      }
      return;
    }
    pending_.emplace_back(std::move(key), std::string(line));
    if (pending_.size() != 1 && pending_.size() != kBatchEvents) {
      return;
    }
  }
  wake_.notify_one();  // the first of a batch starts its wait; a full batch ends it
}

void HistoryStore::WriterLoop() {
  std::vector<std::pair<std::string, std::string>> batch;
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || !pending_.empty(); });
    if (!stop_) {
      wake_.wait_for(lock, kBatchWait, [this] { return stop_ || pending_.size() >= kBatchEvents; });
    }
    if (pending_.empty()) {
      if (stop_) {
        return;
      }
      continue;
    }
    batch.swap(pending_);
    ++batches_started_;
    lock.unlock();
    Write(batch);
    batch.clear();
    lock.lock();
    ++batches_written_;
    written_.notify_all();
  }
}

void HistoryStore::Write(std::vector<std::pair<std::string, std::string>>& batch) {
  rocksdb::WriteBatch wb;
  for (const auto& [key, line] : batch) {
    wb.Put(handles_[0], key, line).PermitUncheckedError();
  }
  auto st = db_->Write(rocksdb::WriteOptions(), &wb);
  if (!st.ok() && failures_.fetch_add(batch.size(), std::memory_order_relaxed) < 10000) {
    spdlog::warn("message history: cannot write {} events: {} (counted, not retried)", batch.size(),
                 st.ToString());
  }
}

void HistoryStore::Flush() {
  std::unique_lock lock(mu_);
  wake_.notify_one();
  // Every batch taken so far, and the one holding what waits now.
  const std::uint64_t target = batches_started_ + (pending_.empty() ? 0 : 1);
  written_.wait(lock, [&] { return batches_written_ >= target; });
}

std::vector<std::string> HistoryStore::Read(std::string_view message_id) {
  std::vector<std::string> out;
  auto id = SpoolId::FromHex(message_id);
  if (!id) {
    return out;
  }
  auto k = id->Key();
  const std::string prefix(k.data(), k.size());
  // With no batch in flight and the lock held, the writer starts none: the
  // database and what waits are, together, every event appended so far.
  // (Appends wait meanwhile; a read is a few keys.)
  std::unique_lock lock(mu_);
  written_.wait(lock, [this] { return batches_written_ == batches_started_; });
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[0]));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (it->key().size() == kIdBytes + 8) {
      out.push_back(it->value().ToString());
    }
  }
  for (const auto& [key, line] : pending_) {
    if (std::string_view(key).starts_with(prefix)) {
      out.push_back(line);
    }
  }
  return out;
}

void HistoryStore::Expire(std::chrono::system_clock::time_point now) {
  std::unique_lock lock(expire_mu_, std::try_to_lock);
  if (!lock.owns_lock()) {
    return;  // another thread is at it
  }
  next_expiry_us_.store(ToMicros(now) + kExpireEveryUs, std::memory_order_relaxed);
  auto drop = [&](rocksdb::ColumnFamilyHandle* cf, const std::string& end) {
    auto st = db_->DeleteRange(rocksdb::WriteOptions(), cf, std::string(kIdBytes, '\0'), end);
    if (!st.ok()) {
      spdlog::warn("message history: cannot expire old records: {}", st.ToString());
    }
  };
  // Ids begin with their reception time: every key below the cutoff's id is older.
  const auto cutoff = ToMicros(now - opts_.retention);
  if (cutoff > 0) {
    auto end = SpoolId(static_cast<std::uint64_t>(cutoff), 0).Key();
    drop(handles_[0], std::string(end.data(), end.size()));
  }
  const auto records_cutoff = ToMicros(now - opts_.records_retention);
  if (records_cutoff > 0) {
    std::string end;
    PutBigEndian(end, static_cast<std::uint64_t>(records_cutoff));
    drop(handles_[1], end + std::string(8, '\0'));
  }
}

}  // namespace sluice::spool
