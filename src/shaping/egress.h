#pragma once
// Security: none (operator settings only).
//
// Egress: the local addresses mail leaves from (sources), grouped in named,
// weighted pools. A message goes out from its campaign's pool, else its
// tenant's, else the default pool, else the implicit pool of every source.
// Within a pool, sources take turns in proportion to their weights (smooth
// weighted round robin: interleaved, not in runs).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sluice::shaping {

class Warmup;

// A local address outbound connections are bound to, with the name it gives
// in EHLO (its PTR name, ideally).
struct EgressSource {
  std::string name;
  std::string address;
  std::string ehlo_name;
};

// A named, weighted set of egress sources.
struct EgressPool {
  std::string name;
  std::vector<std::size_t> sources;    // indices into EgressOptions::sources
  std::vector<std::uint32_t> weights;  // one per source
};

struct EgressOptions {
  // Empty: one source, the delivery client's own address (or any).
  std::vector<EgressSource> sources;
  std::vector<std::uint32_t> weights;  // one per source, in the implicit pool of all
  std::vector<EgressPool> pools;
  std::string default_pool;
  std::map<std::string, std::string> tenant_pools;    // tenant -> pool name
  std::map<std::string, std::string> campaign_pools;  // "campaign:tenant" -> pool name
  // Warm-up schedules by source name (may be null).
  std::shared_ptr<Warmup> warmup;
};

// The pool mail of a tenant and campaign (either may be empty) goes out from;
// null means every source. `why` says which rule chose it.
struct PoolChoice {
  const EgressPool* pool = nullptr;
  std::string why;
};
PoolChoice ChoosePool(const EgressOptions& opts, const std::string& tenant,
                      const std::string& campaign);

// The pools with their round-robin state. Pool 0 is every source.
class Egress {
 public:
  // `fallback` is the source used when `opts.sources` is empty.
  Egress(const EgressOptions& opts, EgressSource fallback);

  const std::vector<EgressSource>& sources() const { return sources_; }
  const EgressSource& source(std::size_t index) const { return sources_[index]; }
  std::size_t pool_count() const { return pools_.size(); }
  // The pool index for a tenant and campaign.
  std::size_t PoolIndex(const EgressOptions& opts, const std::string& tenant,
                        const std::string& campaign) const;
  // The pool's sources (indices into sources()), in pool order.
  const std::vector<std::size_t>& Members(std::size_t pool) const { return pools_[pool].sources; }
  // The next position in the pool by weight, among the sources not taken
  // out (all of them, if every one is out: mail still goes).
  std::size_t Pick(std::size_t pool);
  // A source taken out of every pool (a blocklist listing) or put back;
  // false if that is how it was already.
  bool SetOut(std::size_t source, bool out);
  bool IsOut(std::size_t source) const { return source < out_.size() && out_[source]; }
  // The sources with this address (several may share one).
  std::vector<std::size_t> FindAddress(const std::string& address) const;

 private:
  struct Pool {
    std::string name;
    std::vector<std::size_t> sources;
    std::vector<std::int64_t> weights;
    std::vector<std::int64_t> current;  // smooth weighted round robin state
  };
  std::vector<EgressSource> sources_;
  std::vector<Pool> pools_;
  std::vector<bool> out_;  // per source
};

}  // namespace sluice::shaping
