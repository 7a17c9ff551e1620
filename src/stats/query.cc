#include "stats/query.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace sluice::stats {
namespace {

std::int64_t Seconds(Store::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

Resolution ResolutionFor(std::chrono::seconds step) {
  if (step.count() % Length(Resolution::kDay).count() == 0) {
    return Resolution::kDay;
  }
  if (step.count() % Length(Resolution::kHour).count() == 0) {
    return Resolution::kHour;
  }
  return Resolution::kMinute;
}

Result<Answer, std::string> Aggregate(Store& store, const Query& q) {
  const auto step = q.step.count();
  if (step <= 0 || step % 60 != 0 || step > kMaxStep.count()) {
    return Fail(std::string("the step is a whole number of minutes, at most 3660 days"));
  }
  const auto from_s = std::max<std::int64_t>(Seconds(q.from), 0);
  const auto to_s = Seconds(q.to);
  if (to_s <= from_s) {
    return Fail(std::string("the range ends after it begins"));
  }
  Answer a;
  a.step = q.step;
  a.resolution = ResolutionFor(q.step);
  const auto start = from_s / step * step;
  const auto end = (to_s + step - 1) / step * step;
  const auto buckets = static_cast<std::size_t>((end - start) / step);
  if (buckets > kMaxBuckets) {
    return Fail(
        fmt::format("the range holds {} steps; at most {} (a longer step, or a shorter range)",
                    buckets, kMaxBuckets));
  }
  a.from = Store::TimePoint(std::chrono::seconds(start));
  a.to = Store::TimePoint(std::chrono::seconds(end));
  if (q.metrics.empty()) {
    for (const auto& m : Metrics()) {
      a.metrics.push_back(m.slot);
    }
  } else {
    a.metrics = q.metrics;
  }
  // Summed sparsely first (group, bucket), densified for the groups kept.
  std::map<Tuple, std::map<std::size_t, std::vector<std::uint64_t>>> sums;
  std::size_t rows = 0;
  std::size_t cells = 0;
  bool too_many = false;
  store.Flush();
  store.ForEachRow(
      a.resolution, a.from, a.to,
      [&](Store::TimePoint at, const Tuple& tuple, const Counters& c) {
        if (++rows > kMaxRowsRead || cells > kMaxCells) {
          too_many = true;
          return false;
        }
        for (std::size_t d = 0; d < kDims; ++d) {
          if (q.filters[d] && *q.filters[d] != tuple[d]) {
            return true;
          }
        }
        Tuple group;
        for (auto d : q.group_by) {
          group[static_cast<std::size_t>(d)] = tuple[static_cast<std::size_t>(d)];
        }
        const auto i = static_cast<std::size_t>((Seconds(at) - start) / step);
        auto& sum = sums[group][i];
        if (sum.empty()) {
          sum.resize(a.metrics.size());
          cells += sum.size() + kEntryCells;
        }
        for (std::size_t m = 0; m < a.metrics.size(); ++m) {
          sum[m] += c[a.metrics[m]];
        }
        return true;
      },
      q.filters[static_cast<std::size_t>(Dim::kTenant)]);
  if (too_many) {
    return Fail(
        std::string("the answer would be too large; a shorter range, a longer step, a "
                    "filter or fewer metrics"));
  }
  const auto limit = std::min(q.limit, kMaxGroups);
  if (std::min(limit, sums.size()) * buckets * a.metrics.size() > kMaxCells) {
    return Fail(
        std::string("the answer would be too large; a lower limit, a longer step or fewer "
                    "metrics"));
  }
  // Totals first, to keep the biggest groups; then only theirs made dense.
  struct Ranked {
    const Tuple* group;
    const std::map<std::size_t, std::vector<std::uint64_t>>* by_bucket;
    std::vector<std::uint64_t> totals;
    std::uint64_t weight = 0;
  };
  std::vector<Ranked> ranked;
  for (const auto& [group, by_bucket] : sums) {
    Ranked r{&group, &by_bucket, std::vector<std::uint64_t>(a.metrics.size(), 0), 0};
    for (const auto& [i, c] : by_bucket) {
      for (std::size_t m = 0; m < c.size(); ++m) {
        r.totals[m] += c[m];
        r.weight += c[m];
      }
    }
    ranked.push_back(std::move(r));
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const Ranked& x, const Ranked& y) { return x.weight > y.weight; });
  if (ranked.size() > limit) {
    a.groups_omitted = ranked.size() - limit;
    ranked.resize(limit);
  }
  for (auto& r : ranked) {
    Series s;
    s.group = *r.group;
    s.totals = std::move(r.totals);
    s.values.assign(a.metrics.size(), std::vector<std::uint64_t>(buckets, 0));
    for (const auto& [i, c] : *r.by_bucket) {
      for (std::size_t m = 0; m < c.size(); ++m) {
        s.values[m][i] = c[m];
      }
    }
    a.series.push_back(std::move(s));
  }
  return a;
}

}  // namespace sluice::stats
