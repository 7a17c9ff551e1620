#include "shaping/egress.h"

#include <algorithm>

namespace sluice::shaping {

PoolChoice ChoosePool(const EgressOptions& opts, const std::string& tenant,
                      const std::string& campaign) {
  auto find = [&opts](const std::string& name) -> const EgressPool* {
    for (const auto& p : opts.pools) {
      if (p.name == name) {
        return &p;
      }
    }
    return nullptr;
  };
  if (!campaign.empty()) {
    auto c = opts.campaign_pools.find(campaign + ":" + tenant);
    if (c != opts.campaign_pools.end() && find(c->second) != nullptr) {
      return {find(c->second), "campaign " + campaign + " of tenant " + tenant};
    }
  }
  if (!tenant.empty()) {
    auto t = opts.tenant_pools.find(tenant);
    if (t != opts.tenant_pools.end() && find(t->second) != nullptr) {
      return {find(t->second), "tenant " + tenant};
    }
  }
  if (const EgressPool* p = find(opts.default_pool); p != nullptr && !opts.default_pool.empty()) {
    return {p, "[egress] default_pool"};
  }
  return {nullptr, "every source"};
}

Egress::Egress(const EgressOptions& opts, EgressSource fallback) : sources_(opts.sources) {
  std::vector<std::uint32_t> weights = opts.weights;
  if (sources_.empty()) {
    sources_.push_back(std::move(fallback));
    weights.clear();
  }
  weights.resize(sources_.size(), 1);
  Pool all;
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    all.sources.push_back(i);
    all.weights.push_back(weights[i]);
  }
  pools_.push_back(std::move(all));
  for (const auto& p : opts.pools) {
    Pool pool;
    pool.name = p.name;
    for (std::size_t k = 0; k < p.sources.size(); ++k) {
      if (p.sources[k] < sources_.size()) {
        pool.sources.push_back(p.sources[k]);
        pool.weights.push_back(k < p.weights.size() ? p.weights[k] : 1);
      }
    }
    if (!pool.sources.empty()) {
      pools_.push_back(std::move(pool));
    }
  }
  for (auto& pool : pools_) {
    pool.current.assign(pool.sources.size(), 0);
  }
}

std::size_t Egress::PoolIndex(const EgressOptions& opts, const std::string& tenant,
                              const std::string& campaign) const {
  const PoolChoice choice = ChoosePool(opts, tenant, campaign);
  for (std::size_t i = 1; choice.pool != nullptr && i < pools_.size(); ++i) {
    if (pools_[i].name == choice.pool->name) {
      return i;
    }
  }
  return 0;
}

std::size_t Egress::Pick(std::size_t index) {
  Pool& pool = pools_[index];
  if (pool.sources.size() == 1) {
    return 0;
  }
  const bool some_in = std::any_of(pool.sources.begin(), pool.sources.end(),
                                   [this](std::size_t s) { return !IsOut(s); });
  std::int64_t total = 0;
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < pool.sources.size(); ++i) {
    if (some_in && IsOut(pool.sources[i])) {
      continue;  // its turn waits; the others share its weight meanwhile
    }
    pool.current[i] += pool.weights[i];
    total += pool.weights[i];
    if (!best || pool.current[i] > pool.current[*best]) {
      best = i;
    }
  }
  pool.current[*best] -= total;
  return *best;
}

bool Egress::SetOut(std::size_t source, bool out) {
  if (source >= sources_.size()) {
    return false;
  }
  out_.resize(sources_.size(), false);
  if (out_[source] == out) {
    return false;
  }
  out_[source] = out;
  return true;
}

std::vector<std::size_t> Egress::FindAddress(const std::string& address) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    if (sources_[i].address == address) {
      out.push_back(i);
    }
  }
  return out;
}

}  // namespace sluice::shaping
