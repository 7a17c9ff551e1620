#include "suppression/rocks_store.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "spool/rocks_logger.h"

namespace sluice::suppression {

namespace {

using Clock = std::chrono::system_clock;

// Key: tenant NUL campaign NUL address (tenant and campaign names have no NUL).
std::string MakeKey(std::string_view tenant, std::string_view campaign, std::string_view address) {
  std::string k;
  k.reserve(tenant.size() + campaign.size() + address.size() + 2);
  k.append(tenant).push_back('\0');
  k.append(campaign).push_back('\0');
  k.append(address);
  return k;
}

std::string ScopePrefix(const Scope& s) {
  return MakeKey(s.tenant, s.campaign, "");
}

std::int64_t Micros(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

Clock::time_point FromMicros(std::int64_t us) {
  return Clock::time_point(std::chrono::microseconds(us));
}

void PutI64(std::string& out, std::int64_t v) {
  auto u = static_cast<std::uint64_t>(v);
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>(u >> (8 * i)));
  }
}

std::int64_t GetI64(const char* p) {
  std::uint64_t u = 0;
  for (int i = 0; i < 8; ++i) {
    u |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  }
  return static_cast<std::int64_t>(u);
}

void PutText(std::string& out, std::string_view s) {
  const auto n = static_cast<std::uint16_t>(std::min<std::size_t>(s.size(), 0xffff));
  out.push_back(static_cast<char>(n & 0xff));
  out.push_back(static_cast<char>(n >> 8));
  out.append(s.substr(0, n));
}

bool GetText(std::string_view& in, std::string& out) {
  if (in.size() < 2) {
    return false;
  }
  const std::size_t n = static_cast<unsigned char>(in[0]) |
                        (static_cast<std::size_t>(static_cast<unsigned char>(in[1])) << 8);
  if (in.size() < 2 + n) {
    return false;
  }
  out.assign(in.substr(2, n));
  in.remove_prefix(2 + n);
  return true;
}

// Value: version 1, reason, created and expiry (µs, little-endian), source, detail.
constexpr char kVersion = 1;
constexpr std::size_t kFixed = 2 + 8 + 8;

std::string EncodeValue(const Entry& e) {
  std::string v;
  v.reserve(kFixed + 4 + e.source.size() + e.detail.size());
  v.push_back(kVersion);
  v.push_back(static_cast<char>(e.reason));
  PutI64(v, Micros(e.created));
  PutI64(v, e.expires.time_since_epoch().count() == 0 ? 0 : Micros(e.expires));
  PutText(v, e.source);
  PutText(v, e.detail);
  return v;
}

std::int64_t ExpiryOf(std::string_view value) {
  return value.size() >= kFixed && value[0] == kVersion ? GetI64(value.data() + 10) : 0;
}

bool Decode(std::string_view key, std::string_view value, Entry& e) {
  const auto a = key.find('\0');
  const auto b = a == std::string_view::npos ? a : key.find('\0', a + 1);
  if (b == std::string_view::npos || value.size() < kFixed || value[0] != kVersion) {
    return false;
  }
  e.scope.tenant.assign(key.substr(0, a));
  e.scope.campaign.assign(key.substr(a + 1, b - a - 1));
  e.address.assign(key.substr(b + 1));
  e.reason = static_cast<Reason>(value[1]);
  e.created = FromMicros(GetI64(value.data() + 2));
  const std::int64_t exp = GetI64(value.data() + 10);
  e.expires = exp == 0 ? Clock::time_point{} : FromMicros(exp);
  value.remove_prefix(kFixed);
  return GetText(value, e.source) && GetText(value, e.detail);
}

}  // namespace

// Drops entries whose time has passed when compaction rewrites them, so soft
// entries do not pile up; lookups check expiry themselves.
class ExpiryFilter final : public rocksdb::CompactionFilter {
 public:
  bool Filter(int /*level*/, const rocksdb::Slice& /*key*/, const rocksdb::Slice& value,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    const std::int64_t exp = ExpiryOf(std::string_view(value.data(), value.size()));
    return exp != 0 && exp <= Micros(Clock::now());
  }
  const char* Name() const override { return "sluice.suppression.expiry"; }
};

Result<std::unique_ptr<RocksStore>, std::string> RocksStore::Open(const RocksOptions& opts) {
  std::error_code ec;
  std::filesystem::create_directories(opts.path, ec);
  if (ec) {
    return Fail("cannot create suppression directory " + opts.path + ": " + ec.message());
  }
  std::unique_ptr<RocksStore> s(new RocksStore());
  s->filter_ = std::make_unique<ExpiryFilter>();
  s->cache_ = rocksdb::NewLRUCache(opts.cache_bytes);

  rocksdb::Options o;
  o.create_if_missing = true;
  o.info_log = spool::MakeRocksLogger();
  o.max_open_files = 256;
  o.max_total_wal_size = 64u << 20;
  o.write_buffer_size = opts.write_buffer;
  o.max_write_buffer_number = 2;
  o.compaction_filter = s->filter_.get();
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = s->cache_;
  // Index and filters are charged to the cache: memory is the cache's size,
  // not a function of the list's length.
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // Partitioned: a lookup loads the small partitions it needs, not a whole
  // table's filter (which, over the cache's size, would be read again and again).
  table.partition_filters = true;
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering = true;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  o.memtable_prefix_bloom_size_ratio = 0.02;
  o.memtable_whole_key_filtering = true;

  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(o, opts.path, &raw);
  if (!st.ok()) {
    return Fail("cannot open suppression store " + opts.path + ": " + st.ToString());
  }
  s->db_.reset(raw);
  s->LoadDomainKeys();
  return s;
}

void RocksStore::LoadDomainKeys() {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  std::unordered_set<std::string> keys;
  // A list's domain entries are together (its prefix, then "@"); the next
  // list starts at the prefix with its last NUL made 0x01.
  it->Seek("");
  while (it->Valid()) {
    const auto k = it->key().ToStringView();
    const auto a = k.find('\0');
    const auto b = a == std::string_view::npos ? a : k.find('\0', a + 1);
    if (b == std::string_view::npos) {
      it->Next();
      continue;
    }
    const std::string prefix(k.substr(0, b + 1));
    for (it->Seek(prefix + "@"); it->Valid(); it->Next()) {
      const auto d = it->key().ToStringView();
      if (d.size() <= prefix.size() || d.substr(0, prefix.size()) != prefix ||
          d[prefix.size()] != '@') {
        break;
      }
      keys.emplace(d);
    }
    std::string next = prefix;
    next.back() = '\x01';
    it->Seek(next);
  }
  std::unique_lock lock(domains_mu_);
  domain_keys_ = std::move(keys);
}

RocksStore::~RocksStore() = default;

Result<Ok, std::string> RocksStore::Add(const std::vector<Entry>& entries) {
  rocksdb::WriteBatch wb;
  std::vector<std::string> domains;
  for (const auto& e : entries) {
    std::string key = MakeKey(e.scope.tenant, e.scope.campaign, e.address);
    wb.Put(key, EncodeValue(e));
    if (!e.address.empty() && e.address.front() == '@') {
      domains.push_back(std::move(key));
    }
  }
  auto st = db_->Write(rocksdb::WriteOptions(), &wb);
  if (!st.ok()) {
    return Fail("suppression store: " + st.ToString());
  }
  if (!domains.empty()) {
    std::unique_lock lock(domains_mu_);
    for (auto& k : domains) {
      domain_keys_.insert(std::move(k));
    }
  }
  return Ok{};
}

Result<bool, std::string> RocksStore::Remove(const std::string& address, const Scope& scope) {
  const std::string key = MakeKey(scope.tenant, scope.campaign, address);
  std::string value;
  auto st = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (st.IsNotFound()) {
    return false;
  }
  if (st.ok()) {
    st = db_->Delete(rocksdb::WriteOptions(), key);
  }
  if (!st.ok()) {
    return Fail("suppression store: " + st.ToString());
  }
  if (!address.empty() && address.front() == '@') {
    std::unique_lock lock(domains_mu_);
    domain_keys_.erase(key);
  }
  return true;
}

std::optional<Entry> RocksStore::Find(std::string_view key, std::string_view tenant,
                                      std::string_view campaign, Clock::time_point now) {
  const auto at = key.find('@');
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view domain = key.substr(at);  // "@domain"
  std::array<std::string, 6> keys;
  std::size_t n = 0;
  std::shared_lock lock(domains_mu_);
  auto scope = [&](std::string_view t, std::string_view c) {
    keys[n++] = MakeKey(t, c, key);
    if (at != 0 && !domain_keys_.empty()) {
      std::string d = MakeKey(t, c, domain);
      if (domain_keys_.contains(d)) {
        keys[n++] = std::move(d);
      }
    }
  };
  if (!tenant.empty() && !campaign.empty()) {
    scope(tenant, campaign);
  }
  if (!tenant.empty()) {
    scope(tenant, "");
  }
  scope("", "");
  lock.unlock();
  std::array<rocksdb::Slice, 6> slices;
  for (std::size_t i = 0; i < n; ++i) {
    slices[i] = keys[i];
  }
  std::array<rocksdb::PinnableSlice, 6> values;
  std::array<rocksdb::Status, 6> statuses;
  rocksdb::ReadOptions ro;
  ro.verify_checksums = false;  // a point lookup: the cost is the check, not the read
  db_->MultiGet(ro, db_->DefaultColumnFamily(), n, slices.data(), values.data(), statuses.data());
  for (std::size_t i = 0; i < n; ++i) {
    Entry e;
    if (statuses[i].ok() && Decode(keys[i], values[i].ToStringView(), e) && !e.Expired(now)) {
      return e;
    }
  }
  return std::nullopt;
}

void RocksStore::ForEach(const Scope* scope, const Entry* after, Clock::time_point now,
                         const std::function<bool(const Entry&)>& fn) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // a full export must not push out the filters
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  const std::string prefix = scope != nullptr ? ScopePrefix(*scope) : std::string();
  const std::string from = after != nullptr
                               ? MakeKey(after->scope.tenant, after->scope.campaign, after->address)
                               : prefix;
  for (it->Seek(std::max(from, prefix)); it->Valid(); it->Next()) {
    const auto k = it->key().ToStringView();
    if (k.substr(0, prefix.size()) != prefix) {
      break;
    }
    if (after != nullptr && k == from) {
      continue;
    }
    Entry e;
    if (!Decode(k, it->value().ToStringView(), e) || e.Expired(now)) {
      continue;
    }
    if (!fn(e)) {
      break;
    }
  }
}

std::uint64_t RocksStore::MemoryBytes() const {
  std::uint64_t mem = 0;
  std::uint64_t readers = 0;
  db_->GetIntProperty("rocksdb.cur-size-all-mem-tables", &mem);
  db_->GetIntProperty("rocksdb.estimate-table-readers-mem", &readers);
  return mem + readers + cache_->GetUsage();
}

void RocksStore::Compact() {
  db_->Flush(rocksdb::FlushOptions());
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  db_->CompactRange(co, nullptr, nullptr);
}

}  // namespace sluice::suppression
