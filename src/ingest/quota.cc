#include "ingest/quota.h"

#include <algorithm>

namespace sluice::ingest {

std::optional<TenantQuotas::Refusal> TenantQuotas::Take(const std::string& tenant) {
  auto lim = limits_.find(tenant);
  if (tenant.empty() || lim == limits_.end()) {
    return std::nullopt;
  }
  const QuotaLimits& q = lim->second;
  const auto wall =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  const auto steady = clock_.SteadyNow();
  std::lock_guard lock(mu_);
  State& st = state_[tenant];
  if (q.rate && !st.gcra) {
    st.gcra.emplace(*q.rate, std::max<std::uint32_t>(1, q.burst));
  }
  if (wall / 3600 != st.hour) {
    st.hour = wall / 3600;
    st.in_hour = 0;
  }
  if (wall / 86400 != st.day) {
    st.day = wall / 86400;
    st.in_day = 0;
  }
  std::optional<Refusal> no;
  if (q.per_day != 0 && st.in_day >= q.per_day) {
    no = Refusal{"day", std::to_string(q.per_day) + "/day",
                 std::chrono::seconds((st.day + 1) * 86400 - wall)};
  } else if (q.per_hour != 0 && st.in_hour >= q.per_hour) {
    no = Refusal{"hour", std::to_string(q.per_hour) + "/hour",
                 std::chrono::seconds((st.hour + 1) * 3600 - wall)};
  } else if (st.gcra && st.gcra->NextFree(steady) > steady) {
    const auto wait = std::chrono::ceil<std::chrono::seconds>(st.gcra->NextFree(steady) - steady);
    no = Refusal{"rate", st.gcra->rate().text, std::max(wait, std::chrono::seconds(1))};
  }
  if (no) {
    // An event at most once a minute per tenant: a client hammering at its
    // quota does not flood the log.
    no->report = st.reported == Clock::Steady::time_point{} ||
                 steady - st.reported >= std::chrono::minutes(1);
    if (no->report) {
      st.reported = steady;
    }
    return no;
  }
  if (st.gcra) {
    st.gcra->Reserve(steady);
  }
  ++st.in_hour;
  ++st.in_day;
  return std::nullopt;
}

}  // namespace sluice::ingest
