#pragma once
// The metric types by name only, for headers that hold pointers to them
// (metrics/metrics.h has the definitions).

namespace sluice::metrics {
class Counter;
class Gauge;
class Histogram;
template <class Cell>
class Family;
}  // namespace sluice::metrics
