#pragma once
// Answers a question of the statistics: a range cut into equal steps,
// the rows summed per step and per group (the values of the chosen
// dimensions), narrowed by filters. Groups come biggest first.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "stats/counters.h"
#include "stats/store.h"

namespace sluice::stats {

// Bounds on one answer, so no question takes the daemon's memory or time.
inline constexpr std::size_t kMaxBuckets = 2000;
inline constexpr std::size_t kMaxRowsRead = 2'000'000;
inline constexpr std::size_t kMaxCells = 4'000'000;  // counters summed or answered
inline constexpr std::size_t kEntryCells = 48;       // what a (group, step) sum costs beyond them
inline constexpr std::chrono::seconds kMaxStep{3660LL * 86400};
inline constexpr std::size_t kMaxGroups = 1000;

struct Query {
  Store::TimePoint from;
  Store::TimePoint to;
  std::chrono::seconds step{3600};  // a whole number of minutes
  std::vector<Dim> group_by;
  std::array<std::optional<std::string>, kDims> filters;  // per Dim; set: only that value
  std::vector<std::uint16_t> metrics;                     // slots; empty: every metric
  std::size_t limit = 100;                                // groups, biggest first
};

struct Series {
  Tuple group;  // the group_by dimensions' values; the others ""
  // Per metric (Answer::metrics), per bucket.
  std::vector<std::vector<std::uint64_t>> values;
  std::vector<std::uint64_t> totals;  // per metric, over the range
};

struct Answer {
  Store::TimePoint from;  // aligned down to the step
  Store::TimePoint to;    // aligned up to the step
  std::chrono::seconds step{0};
  Resolution resolution = Resolution::kMinute;  // of the rows read
  std::vector<std::uint16_t> metrics;
  std::vector<Series> series;
  std::size_t groups_omitted = 0;  // past the limit
};

// The coarsest resolution a step is made of.
Resolution ResolutionFor(std::chrono::seconds step);

// Flushes the store, then reads it. Fails with what is wrong with the
// question (a step that is not whole minutes, too many buckets, too many rows).
Result<Answer, std::string> Aggregate(Store& store, const Query& q);

}  // namespace sluice::stats
