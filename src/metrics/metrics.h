#pragma once
// Standards: Prometheus text exposition format 0.0.4 (# HELP, # TYPE, label
//            escaping, cumulative histogram buckets with le="+Inf").
//
// Counters, gauges and histograms in named families with labels, and the
// registry that writes them all. Recording is thread-safe and cheap: a
// family finds its cell under a short lock (callers on hot paths keep the
// cell); the cell itself is an atomic, or a histogram with its own lock.
//
// Label values are bounded: past `max_label_values` distinct values of one
// label in a family, new values become "other", so a flood of campaign
// names cannot grow memory or a Prometheus server's series count.
//
// A family is written under its lock, so what one scrape shows of it is one
// moment: a histogram's buckets, sum and count agree, and a gauge family set
// whole (Replace) shows one snapshot.

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::metrics {

class Counter {
 public:
  void Inc(double n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class Gauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  void Add(double n) { v_.fetch_add(n, std::memory_order_relaxed); }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class Histogram {
 public:
  // `bounds`: the buckets' upper bounds, increasing (+Inf is implied).
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double v);
  struct Snapshot {
    std::vector<std::uint64_t> counts;  // per bound, not cumulative; then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double>* bounds_;
  mutable std::mutex mu_;
  std::vector<std::uint64_t> counts_;
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

// Bucket bounds in use: seconds for latencies, octets for sizes.
extern const std::vector<double> kLatencyBuckets;    // 1 ms .. 60 s
extern const std::vector<double> kDurationBuckets;   // 10 ms .. 10 min
extern const std::vector<double> kSizeBuckets;       // 1 KiB .. 64 MiB
extern const std::vector<double> kQueueTimeBuckets;  // 1 s .. 5 days
extern const std::vector<double> kCountBuckets;      // 1 .. 1024

enum class Type { kCounter, kGauge, kHistogram };
const char* ToString(Type t);

// Escaping of the text format: HELP text (\ and newline) and label values
// (\, " and newline).
std::string EscapeHelp(std::string_view s);
std::string EscapeLabelValue(std::string_view s);
// A sample value as the format writes it ("+Inf", "NaN", 3, 0.25).
std::string FormatValue(double v);

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> labels,
             std::size_t max_label_values);
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  Type type() const { return type_; }
  const std::vector<std::string>& labels() const { return labels_; }
  void SetBounds(std::vector<double> bounds) { bounds_ = std::move(bounds); }
  // Appends the family (HELP, TYPE and every sample) to `out`.
  void Write(std::string& out) const;

 protected:
  // The key of a cell: each value (folded to "other" past the cap),
  // NUL-separated. The caller holds mu_.
  std::string KeyFor(std::initializer_list<std::string_view> values) const;
  std::string KeyFor(const std::vector<std::string>& values) const;
  // `{a="x",b="y"}` for a key, with `extra` (le="...") appended if given.
  std::string LabelText(const std::string& key, std::string_view extra = {}) const;
  virtual void WriteSamples(std::string& out) const = 0;
  mutable std::mutex mu_;
  std::vector<double> bounds_;  // a histogram family's buckets

 private:
  std::string_view Fold(std::size_t i, std::string_view value) const;
  std::string name_;
  std::string help_;
  Type type_;
  std::vector<std::string> labels_;
  std::size_t max_values_;
  mutable std::vector<std::set<std::string, std::less<>>> seen_;  // per label, under mu_
};

template <class Cell>
class Family final : public FamilyBase {
 public:
  using FamilyBase::FamilyBase;
  // The cell for these label values (one per label, in order); it lives as
  // long as the family.
  Cell& With(std::initializer_list<std::string_view> values) {
    std::lock_guard lock(mu_);
    return CellAt(KeyFor(values));
  }
  Cell& With(const std::vector<std::string>& values) {
    std::lock_guard lock(mu_);
    return CellAt(KeyFor(values));
  }

 private:
  Cell& CellAt(std::string key);
  void WriteSamples(std::string& out) const override;
  std::map<std::string, std::unique_ptr<Cell>> cells_;
};

// A gauge family whose samples are set whole at once (a snapshot taken on
// the thread that owns the state): label sets not in the new snapshot go.
class SnapshotGauges final : public FamilyBase {
 public:
  using FamilyBase::FamilyBase;
  using Samples = std::vector<std::pair<std::vector<std::string>, double>>;
  void Replace(const Samples& samples);

 private:
  void WriteSamples(std::string& out) const override;
  std::map<std::string, double> values_;
};

// A gauge (or counter) family read when written: `read` fills the samples
// (on the writing thread, so it must be thread-safe and quick). A counter
// read so is one some other part keeps.
class CallbackGauges final : public FamilyBase {
 public:
  using Read = std::function<void(SnapshotGauges::Samples&)>;
  CallbackGauges(std::string name, std::string help, Type type, std::vector<std::string> labels,
                 std::size_t max_label_values, Read read);

 private:
  void WriteSamples(std::string& out) const override;
  Read read_;
};

struct RegistryOptions {
  std::size_t max_label_values = 500;  // distinct values of one label in one family
};

class Registry {
 public:
  explicit Registry(RegistryOptions opts = {}) : opts_(opts) {}
  // Families are made at start-up and live as long as the registry. Names
  // follow the conventions: counters end in _total, units in the name.
  Family<Counter>& AddCounter(std::string name, std::string help,
                              std::vector<std::string> labels = {});
  Family<Gauge>& AddGauge(std::string name, std::string help, std::vector<std::string> labels = {});
  Family<Histogram>& AddHistogram(std::string name, std::string help,
                                  std::vector<std::string> labels,
                                  const std::vector<double>& bounds);
  SnapshotGauges& AddSnapshotGauges(std::string name, std::string help,
                                    std::vector<std::string> labels);
  CallbackGauges& AddCallbackGauges(std::string name, std::string help,
                                    std::vector<std::string> labels, CallbackGauges::Read read);
  // An unlabelled gauge, or counter, read when written.
  void AddCallbackGauge(std::string name, std::string help, std::function<double()> read);
  void AddCallbackCounter(std::string name, std::string help, std::function<double()> read);

  // Every family in the order added, as text format 0.0.4.
  std::string Write() const;
  // The families' names and types (docs/metrics.md is checked against it).
  std::vector<std::pair<std::string, Type>> Describe() const;

 private:
  template <class F, class... A>
  F& Add(A&&... args);
  RegistryOptions opts_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
};

}  // namespace sluice::metrics
