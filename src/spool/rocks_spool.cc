#include "spool/rocks_spool.h"

#include <algorithm>
#include <filesystem>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/write_batch.h>

#include "core/thread_name.h"

namespace sluice::spool {
namespace {
constexpr const char* kDataCf = "data";

std::string KeyOf(const SpoolId& id) {
  auto k = id.Key();
  return std::string(k.data(), k.size());
}
}  // namespace

Result<std::unique_ptr<RocksSpool>, std::string> RocksSpool::Open(const RocksOptions& opts) {
  std::unique_ptr<RocksSpool> s(new RocksSpool());
  s->opts_ = opts;
  std::error_code ec;
  if (!opts.read_only) {
    std::filesystem::create_directories(opts.path, ec);
    if (ec) {
      return Fail("cannot create spool directory " + opts.path + ": " + ec.message());
    }
  }
  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.IncreaseParallelism(2);
  db_opts.max_total_wal_size = 256 << 20;
  db_opts.keep_log_file_num = 4;
  // Bounded, so the spool never takes the descriptors sessions and outbound
  // connections need (server.reserved_descriptors counts these).
  db_opts.max_open_files = 256;

  rocksdb::ColumnFamilyOptions meta_opts;
  meta_opts.OptimizeForPointLookup(64);
  rocksdb::ColumnFamilyOptions data_opts;
  data_opts.enable_blob_files = true;
  data_opts.min_blob_size = 4096;
  data_opts.enable_blob_garbage_collection = true;

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, meta_opts}, {kDataCf, data_opts}};
  rocksdb::DB* raw = nullptr;
  rocksdb::Status st;
  if (opts.read_only) {
    st = rocksdb::DB::OpenForReadOnly(db_opts, opts.path, cfs, &s->handles_, &raw);
  } else {
    st = rocksdb::DB::Open(db_opts, opts.path, cfs, &s->handles_, &raw);
  }
  if (!st.ok()) {
    return Fail("cannot open spool " + opts.path + ": " + st.ToString());
  }
  s->db_.reset(raw);
  s->meta_cf_ = s->handles_[0];
  s->data_cf_ = s->handles_[1];
  if (!opts.read_only) {
    s->writer_ = std::thread([p = s.get()] {
      NameThisThread("spool-write");
      p->WriterLoop();
    });
    s->completer_ = std::thread([p = s.get()] {
      NameThisThread("spool-done");
      p->CompletionLoop();
    });
  }
  return s;
}

RocksSpool::~RocksSpool() {
  Close();
  for (auto* h : handles_) {
    db_->DestroyColumnFamilyHandle(h);
  }
  handles_.clear();
  if (db_) {
    db_->Close();
  }
}

void RocksSpool::Store(Meta meta, std::string data_prefix, std::string body, Done done) {
  Enqueue(Pending{KeyOf(meta.id), EncodeMeta(meta), std::move(data_prefix), std::move(body),
                  std::move(done), Pending::Op::kStore});
}

void RocksSpool::UpdateMeta(const Meta& meta, Done done) {
  Enqueue(
      Pending{KeyOf(meta.id), EncodeMeta(meta), {}, {}, std::move(done), Pending::Op::kMetaOnly});
}

void RocksSpool::Enqueue(Pending p) {
  {
    std::lock_guard lock(mu_);
    if (!closing_ && !opts_.read_only) {
      if (p.op != Pending::Op::kStore) {
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
  p.done(Fail(SpoolError::kClosed));
}

void RocksSpool::WriterLoop() {
  std::vector<Pending> batch;
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) {
        return;  // closing and drained
      }
      if (queue_.size() <= opts_.max_batch) {
        batch.swap(queue_);
      } else {
        auto mid = queue_.begin() + static_cast<std::ptrdiff_t>(opts_.max_batch);
        batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(mid));
        queue_.erase(queue_.begin(), mid);
      }
    }
    rocksdb::WriteBatch wb;
    rocksdb::Status st;
    for (auto& p : batch) {
      // Data first; metadata marks the message as present.
      rocksdb::Slice parts[2] = {p.prefix, p.body};
      rocksdb::Slice key(p.key);
      if (p.op == Pending::Op::kRemove) {
        // Metadata first: a message without metadata is gone.
        st = wb.Delete(meta_cf_, p.key);
        if (st.ok()) {
          st = wb.Delete(data_cf_, p.key);
        }
      } else {
        if (p.op == Pending::Op::kStore) {
          st = wb.Put(data_cf_, rocksdb::SliceParts(&key, 1), rocksdb::SliceParts(parts, 2));
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
    const bool sync = std::any_of(batch.begin(), batch.end(),
                                  [](const Pending& p) { return p.op == Pending::Op::kStore; });
    if (st.ok()) {
      rocksdb::WriteOptions wo;
      wo.sync = sync;
      st = db_->Write(wo, &wb);
    }
    {
      std::lock_guard lock(mu_);
      stats_.stores += batch.size();
      stats_.syncs += sync ? 1 : 0;
      // Written (or failed: then the database keeps what it had, and so do readers).
      for (const auto& p : batch) {
        auto it = p.seq != 0 ? unwritten_.find(p.key) : unwritten_.end();
        if (it != unwritten_.end() && it->second.seq == p.seq) {
          unwritten_.erase(it);
        }
      }
    }
    // Callbacks run on the completion thread, so the next batch's write and
    // sync start at once rather than after them.
    Completed c;
    c.ok = st.ok();
    c.done.reserve(batch.size());
    for (auto& p : batch) {
      c.done.push_back(std::move(p.done));
    }
    batch.clear();
    {
      std::lock_guard lock(done_mu_);
      completed_.push_back(std::move(c));
    }
    done_cv_.notify_one();
  }
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
        if (c.ok) {
          done(Ok{});
        } else {
          done(Fail(SpoolError::kIo));
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
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, meta_cf_));
  std::uint64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto m = DecodeMeta(std::string_view(it->value().data(), it->value().size()));
    if (!m) {
      return Fail(SpoolError::kCorrupt);
    }
    fn(std::move(m).value());
    ++n;
  }
  if (!it->status().ok()) {
    return Fail(SpoolError::kIo);
  }
  return n;
}

Result<Meta, SpoolError> RocksSpool::ReadMeta(const SpoolId& id) {
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
    auto st = db_->Get(rocksdb::ReadOptions(), meta_cf_, key, &value);
    if (st.IsNotFound()) {
      return Fail(SpoolError::kNotFound);
    }
    if (!st.ok()) {
      return Fail(SpoolError::kIo);
    }
  }
  return DecodeMeta(value);
}

Result<std::string, SpoolError> RocksSpool::ReadData(const SpoolId& id) {
  std::string value;
  auto st = db_->Get(rocksdb::ReadOptions(), data_cf_, KeyOf(id), &value);
  if (st.IsNotFound()) {
    return Fail(SpoolError::kNotFound);
  }
  if (!st.ok()) {
    return Fail(SpoolError::kIo);
  }
  return value;
}

void RocksSpool::Remove(const SpoolId& id, Done done) {
  Enqueue(Pending{KeyOf(id), {}, {}, {}, std::move(done), Pending::Op::kRemove});
}

SpoolStats RocksSpool::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace sluice::spool
