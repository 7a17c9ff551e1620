#include "webhook/outbox.h"

#include <filesystem>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include "spool/rocks_logger.h"

namespace sluice::webhook {
namespace {

// Key: the webhook's name, NUL, the sequence number (8 octets, big-endian, so
// keys sort in order). Value: the time appended (8 octets), then the JSON.
std::string KeyOf(std::string_view webhook, std::uint64_t seq) {
  std::string k(webhook);
  k += '\0';
  for (int shift = 56; shift >= 0; shift -= 8) {
    k += static_cast<char>((seq >> shift) & 0xff);
  }
  return k;
}

std::uint64_t ReadU64(std::string_view s) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < s.size(); ++i) {
    v = (v << 8) | static_cast<unsigned char>(s[i]);
  }
  return v;
}

}  // namespace

Result<std::unique_ptr<Outbox>, std::string> Outbox::Open(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return Fail("cannot create webhook outbox directory " + path + ": " + ec.message());
  }
  rocksdb::Options o;
  o.create_if_missing = true;
  o.info_log = spool::MakeRocksLogger();
  o.max_open_files = 64;
  o.max_total_wal_size = 64u << 20;
  o.write_buffer_size = 8u << 20;
  o.max_write_buffer_number = 2;
  o.enable_pipelined_write = true;  // the log write and the memtable insert overlap
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(o, path, &raw);
  if (!st.ok()) {
    return Fail("cannot open webhook outbox " + path + ": " + st.ToString());
  }
  std::unique_ptr<Outbox> box(new Outbox());
  box->db_.reset(raw);
  box->Load();
  return box;
}

Outbox::~Outbox() {
  if (db_) {
    Sync();
  }
}

void Outbox::Load() {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view k(it->key().data(), it->key().size());
    if (k.size() < 9 || k[k.size() - 9] != '\0') {
      continue;
    }
    const std::string name(k.substr(0, k.size() - 9));
    const std::uint64_t seq = ReadU64(k.substr(k.size() - 8));
    auto [q, fresh] = queues_.try_emplace(name);
    if (fresh) {
      q->second.first = seq;
    }
    q->second.next = seq + 1;
  }
}

bool Outbox::Append(const std::string& webhook, std::string_view json, std::int64_t now_us) {
  std::string value;
  value.reserve(8 + json.size());
  for (int shift = 56; shift >= 0; shift -= 8) {
    value += static_cast<char>((static_cast<std::uint64_t>(now_us) >> shift) & 0xff);
  }
  value.append(json);
  // The number is taken under the lock, the write made outside it, so that
  // writers on several threads share RocksDB's group commit (one log write
  // for all). Readers stop short of the oldest number still being written:
  // they never see a later record before an earlier one.
  std::uint64_t seq = 0;
  {
    std::lock_guard lock(mu_);
    Queue& q = queues_[webhook];
    seq = q.next++;
    q.writing.insert(seq);
  }
  auto st = db_->Put(rocksdb::WriteOptions(), KeyOf(webhook, seq), value);
  std::lock_guard lock(mu_);
  queues_[webhook].writing.erase(seq);
  if (!st.ok()) {
    // Its number stays unused: readers pass over it.
    ++write_failures_;
    const auto now = std::chrono::steady_clock::now();
    if (now - warned_at_ > std::chrono::seconds(10)) {
      warned_at_ = now;
      spdlog::error("webhook outbox: an event for {} could not be kept ({} so far): {}", webhook,
                    write_failures_, st.ToString());
    }
    return false;
  }
  return true;
}

std::vector<OutboxRecord> Outbox::Read(const std::string& webhook, std::size_t max,
                                       std::size_t max_bytes) const {
  std::uint64_t first = 0;
  std::uint64_t limit = 0;  // records from here on may not all be written yet
  {
    std::lock_guard lock(mu_);
    auto q = queues_.find(webhook);
    if (q == queues_.end() || q->second.first == q->second.next) {
      return {};
    }
    first = q->second.first;
    limit = q->second.writing.empty() ? q->second.next : *q->second.writing.begin();
  }
  std::vector<OutboxRecord> out;
  std::size_t bytes = 0;
  const std::string prefix = webhook + '\0';
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(KeyOf(webhook, first)); it->Valid() && out.size() < max; it->Next()) {
    const std::string_view k(it->key().data(), it->key().size());
    if (k.size() != prefix.size() + 8 || k.substr(0, prefix.size()) != prefix) {
      break;
    }
    const std::uint64_t seq = ReadU64(k.substr(prefix.size()));
    if (seq >= limit) {
      break;
    }
    const std::string_view v(it->value().data(), it->value().size());
    if (v.size() < 8) {
      continue;
    }
    if (!out.empty() && bytes + v.size() - 8 > max_bytes) {
      break;
    }
    bytes += v.size() - 8;
    out.push_back({seq, static_cast<std::int64_t>(ReadU64(v)), std::string(v.substr(8))});
  }
  return out;
}

void Outbox::Ack(const std::string& webhook, std::uint64_t seq) {
  std::uint64_t first = 0;
  {
    std::lock_guard lock(mu_);
    auto q = queues_.find(webhook);
    if (q == queues_.end() || seq < q->second.first) {
      return;
    }
    first = q->second.first;
    q->second.first = std::min(seq + 1, q->second.next);
  }
  rocksdb::WriteBatch wb;
  for (std::uint64_t s = first; s <= seq; ++s) {
    wb.Delete(KeyOf(webhook, s));
  }
  auto st = db_->Write(rocksdb::WriteOptions(), &wb);
  if (!st.ok()) {
    // Left behind: sent again after a restart (at least once).
    spdlog::error("webhook outbox: cannot remove acknowledged events of {}: {}", webhook,
                  st.ToString());
  }
}

std::uint64_t Outbox::Pending(const std::string& webhook) const {
  std::lock_guard lock(mu_);
  auto q = queues_.find(webhook);
  return q == queues_.end() ? 0 : q->second.next - q->second.first;
}

std::int64_t Outbox::OldestUs(const std::string& webhook) const {
  auto first = Read(webhook, 1, 0);
  return first.empty() ? 0 : first.front().at_us;
}

std::uint64_t Outbox::write_failures() const {
  std::lock_guard lock(mu_);
  return write_failures_;
}

void Outbox::Sync() {
  db_->FlushWAL(true);
}

}  // namespace sluice::webhook
