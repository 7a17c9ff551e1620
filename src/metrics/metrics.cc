#include "metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include <fmt/format.h>

namespace sluice::metrics {

const std::vector<double> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,   1,      2.5,   5,    10,    30,   60};
const std::vector<double> kDurationBuckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,  2.5,
                                              5,    10,    30,   60,  120,  300, 600};
const std::vector<double> kSizeBuckets = {1024,    4096,    16384,    65536,   262144,
                                          1048576, 4194304, 16777216, 67108864};
const std::vector<double> kQueueTimeBuckets = {1,   5,    15,    30,    60,    300,
                                               900, 3600, 14400, 86400, 432000};
const std::vector<double> kCountBuckets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

const char* ToString(Type t) {
  switch (t) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

namespace {

// Backslash and newline escaped, and the double quote too in a label value.
std::string Escape(std::string_view s, bool quote) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string EscapeHelp(std::string_view s) {
  return Escape(s, false);
}

std::string EscapeLabelValue(std::string_view s) {
  return Escape(s, true);
}

std::string FormatValue(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return fmt::format("{}", static_cast<std::int64_t>(v));
  }
  return fmt::format("{}", v);
}

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(bounds->size() + 1, 0) {}

void Histogram::Observe(double v) {
  // The first bucket whose bound is >= v (le: less than or equal).
  auto i = static_cast<std::size_t>(std::lower_bound(bounds_->begin(), bounds_->end(), v) -
                                    bounds_->begin());
  std::lock_guard lock(mu_);
  ++counts_[i];
  sum_ += v;
  ++count_;
}

Histogram::Snapshot Histogram::Read() const {
  std::lock_guard lock(mu_);
  return {counts_, sum_, count_};
}

FamilyBase::FamilyBase(std::string name, std::string help, Type type,
                       std::vector<std::string> labels, std::size_t max_label_values)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      labels_(std::move(labels)),
      max_values_(max_label_values),
      seen_(labels_.size()) {}

std::string_view FamilyBase::Fold(std::size_t i, std::string_view value) const {
  auto& seen = seen_[i];
  if (seen.find(value) != seen.end()) {
    return value;
  }
  if (seen.size() >= max_values_ && value != "other") {
    return "other";
  }
  seen.emplace(value);
  return value;
}

std::string FamilyBase::KeyFor(std::initializer_list<std::string_view> values) const {
  std::string key;
  std::size_t i = 0;
  for (auto v : values) {
    if (i >= labels_.size()) {
      break;
    }
    if (i > 0) {
      key += '\0';
    }
    key += Fold(i, v);
    ++i;
  }
  for (; i < labels_.size(); ++i) {  // values missing: empty
    if (i > 0) {
      key += '\0';
    }
  }
  return key;
}

std::string FamilyBase::KeyFor(const std::vector<std::string>& values) const {
  std::string key;
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    if (i > 0) {
      key += '\0';
    }
    key += Fold(i, i < values.size() ? std::string_view(values[i]) : std::string_view());
  }
  return key;
}

std::string FamilyBase::LabelText(const std::string& key, std::string_view extra) const {
  if (labels_.empty() && extra.empty()) {
    return "";
  }
  std::string out = "{";
  std::size_t start = 0;
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    std::size_t end = key.find('\0', start);
    if (end == std::string::npos) {
      end = key.size();
    }
    if (i > 0) {
      out += ',';
    }
    out += labels_[i];
    out += "=\"";
    out += EscapeLabelValue(std::string_view(key).substr(start, end - start));
    out += '"';
    start = end + 1;
  }
  if (!extra.empty()) {
    if (!labels_.empty()) {
      out += ',';
    }
    out += extra;
  }
  out += '}';
  return out;
}

void FamilyBase::Write(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  out += EscapeHelp(help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += ToString(type_);
  out += '\n';
  std::lock_guard lock(mu_);
  WriteSamples(out);
}

template <class Cell>
Cell& Family<Cell>::CellAt(std::string key) {
  auto it = cells_.find(key);
  if (it != cells_.end()) {
    return *it->second;
  }
  std::unique_ptr<Cell> cell;
  if constexpr (std::is_same_v<Cell, Histogram>) {
    cell = std::make_unique<Histogram>(&bounds_);
  } else {
    cell = std::make_unique<Cell>();
  }
  return *cells_.emplace(std::move(key), std::move(cell)).first->second;
}

template <class Cell>
void Family<Cell>::WriteSamples(std::string& out) const {
  for (const auto& [key, cell] : cells_) {
    if constexpr (std::is_same_v<Cell, Histogram>) {
      auto snap = cell->Read();
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        cumulative += snap.counts[i];
        std::string le =
            "le=\"" + (i < bounds_.size() ? FormatValue(bounds_[i]) : std::string("+Inf")) + "\"";
        out += fmt::format("{}_bucket{} {}\n", name(), LabelText(key, le), cumulative);
      }
      out += fmt::format("{}_sum{} {}\n", name(), LabelText(key), FormatValue(snap.sum));
      out += fmt::format("{}_count{} {}\n", name(), LabelText(key), snap.count);
    } else {
      out += fmt::format("{}{} {}\n", name(), LabelText(key), FormatValue(cell->value()));
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

void SnapshotGauges::Replace(const Samples& samples) {
  std::lock_guard lock(mu_);
  values_.clear();
  for (const auto& [labels, v] : samples) {
    values_[KeyFor(labels)] += v;  // values folded into "other" add up
  }
}

void SnapshotGauges::WriteSamples(std::string& out) const {
  for (const auto& [key, v] : values_) {
    out += fmt::format("{}{} {}\n", name(), LabelText(key), FormatValue(v));
  }
}

CallbackGauges::CallbackGauges(std::string name, std::string help, Type type,
                               std::vector<std::string> labels, std::size_t max_label_values,
                               Read read)
    : FamilyBase(std::move(name), std::move(help), type, std::move(labels), max_label_values),
      read_(std::move(read)) {}

void CallbackGauges::WriteSamples(std::string& out) const {
  SnapshotGauges::Samples samples;
  read_(samples);
  std::map<std::string, double> values;
  for (const auto& [labels, v] : samples) {
    values[KeyFor(labels)] += v;
  }
  for (const auto& [key, v] : values) {
    out += fmt::format("{}{} {}\n", name(), LabelText(key), FormatValue(v));
  }
}

template <class F, class... A>
F& Registry::Add(A&&... args) {
  auto f = std::make_unique<F>(std::forward<A>(args)...);
  F& ref = *f;
  std::lock_guard lock(mu_);
  families_.push_back(std::move(f));
  return ref;
}

Family<Counter>& Registry::AddCounter(std::string name, std::string help,
                                      std::vector<std::string> labels) {
  return Add<Family<Counter>>(std::move(name), std::move(help), Type::kCounter, std::move(labels),
                              opts_.max_label_values);
}

Family<Gauge>& Registry::AddGauge(std::string name, std::string help,
                                  std::vector<std::string> labels) {
  return Add<Family<Gauge>>(std::move(name), std::move(help), Type::kGauge, std::move(labels),
                            opts_.max_label_values);
}

Family<Histogram>& Registry::AddHistogram(std::string name, std::string help,
                                          std::vector<std::string> labels,
                                          const std::vector<double>& bounds) {
  auto& f = Add<Family<Histogram>>(std::move(name), std::move(help), Type::kHistogram,
                                   std::move(labels), opts_.max_label_values);
  f.SetBounds(bounds);
  return f;
}

SnapshotGauges& Registry::AddSnapshotGauges(std::string name, std::string help,
                                            std::vector<std::string> labels) {
  return Add<SnapshotGauges>(std::move(name), std::move(help), Type::kGauge, std::move(labels),
                             opts_.max_label_values);
}

CallbackGauges& Registry::AddCallbackGauges(std::string name, std::string help,
                                            std::vector<std::string> labels,
                                            CallbackGauges::Read read) {
  return Add<CallbackGauges>(std::move(name), std::move(help), Type::kGauge, std::move(labels),
                             opts_.max_label_values, std::move(read));
}

void Registry::AddCallbackCounter(std::string name, std::string help,
                                  std::function<double()> read) {
  Add<CallbackGauges>(std::move(name), std::move(help), Type::kCounter, std::vector<std::string>{},
                      opts_.max_label_values, [read = std::move(read)](SnapshotGauges::Samples& s) {
                        s.push_back({{}, read()});
                      });
}

void Registry::AddCallbackGauge(std::string name, std::string help, std::function<double()> read) {
  AddCallbackGauges(std::move(name), std::move(help), {},
                    [read = std::move(read)](SnapshotGauges::Samples& s) {
                      s.push_back({{}, read()});
                    });
}

std::string Registry::Write() const {
  std::lock_guard lock(mu_);
  std::string out;
  out.reserve(families_.size() * 256);
  for (const auto& f : families_) {
    f->Write(out);
  }
  return out;
}

std::vector<std::pair<std::string, Type>> Registry::Describe() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, Type>> out;
  for (const auto& f : families_) {
    out.emplace_back(f->name(), f->type());
  }
  return out;
}

}  // namespace sluice::metrics
