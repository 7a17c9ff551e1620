#pragma once
// Security: see store.h.
// Standards: none.
//
// The suppression lists in a RocksDB of their own. Memory stays bounded
// however long the lists grow: index and bloom-filter blocks live in a block
// cache of fixed size, so a lookup that misses (the common case) is answered
// from the filters, mostly without reading a data block.

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_set>

#include "core/result.h"
#include "suppression/store.h"

namespace rocksdb {
class Cache;
class DB;
}  // namespace rocksdb

namespace sluice::suppression {

class ExpiryFilter;

struct RocksOptions {
  std::string path = "var/suppression";
  std::uint64_t cache_bytes = 32ull << 20;   // block cache (filters, index, data)
  std::uint64_t write_buffer = 16ull << 20;  // memtable
};

class RocksStore final : public SuppressionStore {
 public:
  static Result<std::unique_ptr<RocksStore>, std::string> Open(const RocksOptions& opts);
  ~RocksStore() override;

  Result<Ok, std::string> Add(const std::vector<Entry>& entries) override;
  Result<bool, std::string> Remove(const std::string& address, const Scope& scope) override;
  std::optional<Entry> Find(std::string_view key, std::string_view tenant,
                            std::string_view campaign,
                            std::chrono::system_clock::time_point now) override;
  void ForEach(const Scope* scope, const Entry* after, std::chrono::system_clock::time_point now,
               const std::function<bool(const Entry&)>& fn) override;

  // Bytes RocksDB holds in memory now (memtables, block cache, readers).
  std::uint64_t MemoryBytes() const;
  // Writes the memtable out and compacts (drops expired entries); for tests
  // and benchmarks.
  void Compact();

 private:
  RocksStore() = default;
  // Reads the keys of every domain entry (one seek per list and two).
  void LoadDomainKeys();

  std::unique_ptr<ExpiryFilter> filter_;   // outlives db_ (declared first)
  std::shared_ptr<rocksdb::Cache> cache_;  // kept for MemoryBytes()
  std::unique_ptr<rocksdb::DB> db_;
  // The keys of the domain entries ("@domain"), which are few: a lookup asks
  // the database for an address's domain only when its list has an entry
  // for it, which halves the keys a lookup reads.
  mutable std::shared_mutex domains_mu_;
  std::unordered_set<std::string> domain_keys_;
};

}  // namespace sluice::suppression
