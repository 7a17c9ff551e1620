#pragma once
// Security: holds what reporters said of mail using our domains (addresses of
//           the servers that sent it); operator-only through the API.
// Standards: RFC 7489 §7.2 (aggregate reports: one per reporter, domain and
//            period, named by the reporter's report_id).
//
// DMARC aggregate reports kept in RocksDB (`[dmarc] path`), each once (a
// report mailed twice is a duplicate), pruned after `retention`; and the
// summary GET /api/v1/dmarc gives: per sending domain, messages and their
// DMARC results, per source address (ours or not) and per reporter.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "core/result.h"
#include "dmarc/aggregate.h"

namespace rocksdb {
class DB;
}

namespace sluice::dmarc {

struct StoreOptions {
  std::string path = "var/dmarc";
  std::chrono::hours retention{24 * 400};
};

struct Query {
  std::string domain;     // "": every domain
  std::int64_t from = 0;  // reports whose period begins in [from, to)
  std::int64_t to = INT64_MAX;
  std::set<std::string> own;  // our egress addresses (canonical spelling)
  std::size_t max_reports = 100000;
  std::size_t max_rows = 2000000;   // rows read, all reports together
  std::size_t max_sources = 10000;  // per domain; the rest are counted apart
};

class Store {
 public:
  static Result<std::unique_ptr<Store>, std::string> Open(const StoreOptions& opts);
  ~Store();

  // Why a report is not to be kept (nullopt: it may be): a period that is
  // not a reporting day's (RFC 7489 §7.2: ri defaults to a day), one
  // already past the retention (it would be pruned at once, and counted
  // again each time it came), or one in the future.
  std::optional<std::string> Refuse(const AggregateReport& r, std::int64_t now) const;

  enum class Added { kStored, kDuplicate };
  // Thread-safe; an error is the database's (try again later).
  Result<Added, std::string> Add(const AggregateReport& r, std::int64_t now);
  // {"reports", "truncated", "domains": [{"domain", "messages", "pass",
  //  "fail", "pass_rate", "dkim_aligned", "spf_aligned", "dispositions": {...},
  //  "own": {"messages", "pass", "fail"}, "other": {...},
  //  "sources": [{"ip", "own", "messages", "pass", "fail", "dkim_aligned",
  //   "spf_aligned", "reporters": [...]}] (the first max_sources seen),
  //  "sources_omitted" (the others' sum), "reporters": [{"org", "reports", "messages"}]}]}.
  //  Blocking (a scan).
  std::string Summarize(const Query& q) const;

 private:
  explicit Store(StoreOptions opts);
  void Prune(std::int64_t now);

  StoreOptions opts_;
  std::mutex mu_;  // Add: the duplicate check and the write as one
  std::unique_ptr<rocksdb::DB> db_;
};

// A report as stored (JSON) and back.
std::string Encode(const AggregateReport& r);
Result<AggregateReport, std::string> Decode(std::string_view stored);

}  // namespace sluice::dmarc
