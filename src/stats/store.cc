#include "stats/store.h"

#include <filesystem>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include "core/thread_name.h"
#include "spool/rocks_logger.h"

namespace sluice::stats {
namespace {

constexpr std::array<char, 3> kResolutionByte = {'m', 'h', 'd'};
constexpr char kUniqueByte = 'u';
constexpr auto kWriteEvery = std::chrono::seconds(1);
constexpr auto kPruneEvery = std::chrono::hours(1);
// Past this many rows waiting (the disk stalls, or more distinct rows a
// second than one write takes), counts are dropped and counted.
constexpr std::size_t kMaxPending = 500000;
constexpr auto kWarnEvery = std::chrono::seconds(10);
constexpr std::string_view kOther = "other";
constexpr std::size_t kAdmitBuckets = 3;

void PutBigEndian(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

std::uint64_t GetBigEndian(std::string_view in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<unsigned char>(in[i]);
  }
  return v;
}

std::int64_t Seconds(Store::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::int64_t BucketOf(Resolution r, Store::TimePoint t) {
  const auto len = Length(r).count();
  const auto s = Seconds(t);
  return s >= 0 ? s / len * len : 0;
}

std::string KeyPrefix(char kind, std::int64_t seconds) {
  std::string k(1, kind);
  PutBigEndian(k, static_cast<std::uint64_t>(std::max<std::int64_t>(seconds, 0)));
  return k;
}

void AppendTuple(std::string& key, const Tuple& t) {
  for (const auto& v : t) {
    const auto n = std::min<std::size_t>(v.size(), 255);
    key.push_back(static_cast<char>(n));
    key.append(v, 0, n);
  }
}

bool ParseTuple(std::string_view in, Tuple& t) {
  for (auto& v : t) {
    if (in.empty()) {
      return false;
    }
    const auto n = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    if (in.size() < n) {
      return false;
    }
    v.assign(in.substr(0, n));
    in.remove_prefix(n);
  }
  return in.empty();
}

// Adds rows of counters together (encoded by counters.h).
class AddCounters final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* /*logger*/) const override {
    Counters sum{};
    if (existing != nullptr && !DecodeAdd(existing->ToStringView(), sum)) {
      sum = {};  // a damaged row starts again rather than failing every read
    }
    Counters add{};
    if (DecodeAdd(value.ToStringView(), add)) {  // a damaged operand is left out, not fatal
      for (std::size_t i = 0; i < kSlots; ++i) {
        sum[i] += add[i];
      }
    }
    *new_value = Encode(sum);
    return true;
  }
  const char* Name() const override { return "sluice.stats.add"; }
};

}  // namespace

std::chrono::seconds Length(Resolution r) {
  switch (r) {
    case Resolution::kMinute:
      return std::chrono::seconds(60);
    case Resolution::kHour:
      return std::chrono::seconds(3600);
    case Resolution::kDay:
      break;
  }
  return std::chrono::seconds(86400);
}

Result<std::unique_ptr<Store>, std::string> Store::Open(const Options& opts) {
  std::error_code ec;
  std::filesystem::create_directories(opts.path, ec);
  if (ec) {
    return Fail("cannot create statistics directory " + opts.path + ": " + ec.message());
  }
  rocksdb::Options o;
  o.create_if_missing = true;
  o.info_log = spool::MakeRocksLogger();
  o.max_open_files = 64;
  o.max_total_wal_size = 16u << 20;
  o.write_buffer_size = 4u << 20;
  o.merge_operator = std::make_shared<AddCounters>();
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(4u << 20);
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(o, opts.path, &raw);
  if (!st.ok()) {
    return Fail("cannot open statistics " + opts.path + ": " + st.ToString());
  }
  std::unique_ptr<Store> s(new Store(opts));
  s->db_.reset(raw);
  s->Prune(std::chrono::system_clock::now());
  s->next_prune_ = std::chrono::steady_clock::now() + kPruneEvery;
  s->writer_ = std::thread([p = s.get()] {
    NameThisThread("stats");
    p->WriterLoop();
  });
  return s;
}

Store::Store(Options opts) : opts_(std::move(opts)) {}

Store::~Store() {
  if (writer_.joinable()) {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    wake_.notify_one();
    writer_.join();  // writes what is left first
  }
  if (db_) {
    db_->Close().PermitUncheckedError();
  }
}

std::string Store::Admit(Dim dim, Resolution r, std::int64_t bucket, std::string value) {
  const bool domain = dim == Dim::kDomain;
  const std::size_t cap = domain ? opts_.max_domains : opts_.max_campaigns;
  if (value.empty() || cap == 0) {
    return value;
  }
  auto& buckets = (domain ? domains_ : campaigns_)[static_cast<std::size_t>(r)];
  // The newest buckets' sets only: counts come in near their time. One older
  // than those kept counts under its own name, unchecked (a clock stepped back).
  if (buckets.size() >= kAdmitBuckets && bucket < buckets.begin()->first) {
    return value;
  }
  auto it = buckets.try_emplace(bucket).first;
  while (buckets.size() > kAdmitBuckets) {
    buckets.erase(buckets.begin());  // never `it`: it is not the oldest
  }
  auto& names = it->second;
  if (names.contains(value)) {
    return value;
  }
  if (names.size() >= cap) {
    return std::string(kOther);
  }
  names.insert(value);
  return value;
}

void Store::Add(TimePoint t, Tuple tuple, std::span<const std::uint16_t> slots) {
  std::lock_guard lock(mu_);
  if (pending_.size() >= kMaxPending) {
    ++failures_;
    const auto now = std::chrono::steady_clock::now();
    if (now - warned_at_ >= kWarnEvery) {
      warned_at_ = now;
      spdlog::warn("statistics: {} rows wait to be written; dropping counts ({} so far)",
                   pending_.size(), failures_);
    }
    return;
  }
  const auto domain = static_cast<std::size_t>(Dim::kDomain);
  const auto campaign = static_cast<std::size_t>(Dim::kCampaign);
  const std::string domain_name = tuple[domain];
  const std::string campaign_name = tuple[campaign];
  for (auto r : {Resolution::kMinute, Resolution::kHour, Resolution::kDay}) {
    const auto bucket = BucketOf(r, t);
    tuple[domain] = Admit(Dim::kDomain, r, bucket, domain_name);
    tuple[campaign] = Admit(Dim::kCampaign, r, bucket, campaign_name);
    std::string key = KeyPrefix(kResolutionByte[static_cast<std::size_t>(r)], bucket);
    AppendTuple(key, tuple);
    auto& row = pending_.try_emplace(std::move(key)).first->second;
    for (auto slot : slots) {
      if (slot < kSlots) {
        Increment(row, slot);
      }
    }
  }
}

bool Store::FirstTime(TimePoint sent, std::string_view key) {
  std::string k = KeyPrefix(kUniqueByte, Seconds(sent) / 86400 * 86400);
  k.append(key);
  for (;;) {
    std::uint64_t written = 0;
    {
      std::lock_guard lock(mu_);
      if (seen_.contains(k) || writing_seen_.contains(k)) {
        return false;
      }
      written = writes_;
    }
    std::string value;
    if (db_->Get(rocksdb::ReadOptions(), k, &value).ok()) {
      return false;
    }
    std::lock_guard lock(mu_);
    if (writes_ != written) {
      continue;  // a write landed meanwhile: it may hold the key; read again
    }
    // seen_ decides between two that ask at once.
    return !writing_seen_.contains(k) && seen_.insert(std::move(k)).second;
  }
}

void Store::WriterLoop() {
  for (;;) {
    bool stop = false;
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, kWriteEvery, [this] { return stop_; });
      stop = stop_;
    }
    Flush();
    if (stop) {
      return;
    }
    if (std::chrono::steady_clock::now() >= next_prune_) {
      next_prune_ = std::chrono::steady_clock::now() + kPruneEvery;
      Prune(std::chrono::system_clock::now());
    }
  }
}

void Store::Flush() {
  // One write at a time, so a Flush returns only once what waited is written,
  // also when the writer took it first. Counting goes on meanwhile.
  std::lock_guard writing(write_mu_);
  std::unordered_map<std::string, Sparse> rows;
  {
    std::lock_guard lock(mu_);
    rows.swap(pending_);
    writing_seen_.swap(seen_);
  }
  if (rows.empty() && writing_seen_.empty()) {
    return;
  }
  rocksdb::WriteBatch wb;
  for (const auto& [key, counters] : rows) {
    wb.Merge(key, Encode(counters)).PermitUncheckedError();
  }
  for (const auto& key : writing_seen_) {
    wb.Put(key, rocksdb::Slice()).PermitUncheckedError();
  }
  auto st = db_->Write(rocksdb::WriteOptions(), &wb);
  std::lock_guard lock(mu_);
  if (!st.ok()) {
    failures_ += rows.size();
    const auto now = std::chrono::steady_clock::now();
    if (now - warned_at_ >= kWarnEvery) {
      warned_at_ = now;
      spdlog::warn("statistics: cannot write {} rows: {} (counted, not retried)", rows.size(),
                   st.ToString());
    }
    if (seen_.size() + writing_seen_.size() <= kMaxPending) {
      seen_.merge(writing_seen_);  // first hits stay remembered, for the next write
    }
  }
  writing_seen_.clear();
  ++writes_;
}

void Store::Prune(TimePoint now) {
  auto drop = [&](char kind, std::chrono::hours keep) {
    const auto cutoff = Seconds(now - keep);
    if (cutoff <= 0) {
      return;
    }
    auto st = db_->DeleteRange(rocksdb::WriteOptions(), db_->DefaultColumnFamily(),
                               KeyPrefix(kind, 0), KeyPrefix(kind, cutoff));
    if (!st.ok()) {
      spdlog::warn("statistics: cannot drop old rows: {}", st.ToString());
    }
  };
  drop(kResolutionByte[0], opts_.minute_retention);
  drop(kResolutionByte[1], opts_.hour_retention);
  drop(kResolutionByte[2], opts_.day_retention);
  drop(kUniqueByte, opts_.hour_retention);
}

void Store::ForEachRow(Resolution r, TimePoint from, TimePoint to,
                       const std::function<bool(TimePoint, const Tuple&, const Counters&)>& fn,
                       const std::optional<std::string>& tenant) {
  const char kind = kResolutionByte[static_cast<std::size_t>(r)];
  const std::string end = KeyPrefix(kind, Seconds(to));
  rocksdb::ReadOptions ro;
  const rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  Tuple tuple;
  // Rows of one bucket from `start` on, while their keys begin with `prefix`.
  auto scan = [&](const std::string& start, const std::string& prefix) {
    for (it->Seek(start); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const auto key = it->key().ToStringView();
      if (key.size() < 9 || !ParseTuple(key.substr(9), tuple)) {
        continue;
      }
      Counters c{};
      if (!DecodeAdd(it->value().ToStringView(), c)) {
        continue;
      }
      const auto at = TimePoint(std::chrono::seconds(GetBigEndian(key.substr(1))));
      if (!fn(at, tuple, c)) {
        return false;
      }
    }
    return true;
  };
  if (!tenant) {
    scan(KeyPrefix(kind, Seconds(from)), std::string(1, kind));
    return;
  }
  // One tenant's rows: its tenant is the key's first dimension, so each
  // bucket's are one key range, and other tenants' are never read. Empty
  // buckets are skipped: after each range, on to the next bucket that has rows.
  const auto len = Length(r).count();
  const auto n = std::min<std::size_t>(tenant->size(), 255);
  std::int64_t b = std::max<std::int64_t>(Seconds(from), 0) / len * len;
  while (b < Seconds(to)) {
    std::string prefix = KeyPrefix(kind, b);
    prefix.push_back(static_cast<char>(n));
    prefix.append(*tenant, 0, n);
    if (!scan(prefix, prefix) || !it->Valid()) {
      return;  // stopped, or no rows up to `to`
    }
    const auto key = it->key().ToStringView();
    const auto next = key.size() >= 9 && key[0] == kind
                          ? static_cast<std::int64_t>(GetBigEndian(key.substr(1)))
                          : Seconds(to);
    b = std::max(b + len, next);
  }
}

std::uint64_t Store::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

}  // namespace sluice::stats
