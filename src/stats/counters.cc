#include "stats/counters.h"

#include "bounce/classify.h"

namespace sluice::stats {
namespace {

constexpr std::array<std::string_view, kDims> kDimNames = {"tenant", "campaign", "provider",
                                                           "domain", "source"};
constexpr std::array<std::string_view, kBaseMetrics> kBaseNames = {"received",
                                                                   "delivered",
                                                                   "deferred",
                                                                   "bounced",
                                                                   "bounced_hard",
                                                                   "async_bounced",
                                                                   "expired",
                                                                   "admin_bounced",
                                                                   "suppressed",
                                                                   "complaints",
                                                                   "unsubscribes",
                                                                   "opens",
                                                                   "unique_opens",
                                                                   "machine_opens",
                                                                   "unique_human_opens",
                                                                   "clicks",
                                                                   "unique_clicks",
                                                                   "machine_clicks",
                                                                   "unique_human_clicks"};
static_assert(std::size(bounce::kClasses) <= kSlots - kClassBase);

void PutVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view& in, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) {
      return false;
    }
    const auto b = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string_view DimName(Dim d) {
  return kDimNames[static_cast<std::size_t>(d)];
}

std::optional<Dim> DimByName(std::string_view name) {
  for (std::size_t i = 0; i < kDims; ++i) {
    if (kDimNames[i] == name) {
      return static_cast<Dim>(i);
    }
  }
  return std::nullopt;
}

const std::vector<MetricName>& Metrics() {
  static const std::vector<MetricName> all = [] {
    std::vector<MetricName> v;
    for (std::uint16_t i = 0; i < kBaseMetrics; ++i) {
      v.push_back({std::string(kBaseNames[i]), i});
    }
    std::uint16_t slot = kClassBase;
    for (auto c : bounce::kClasses) {
      v.push_back({"bounced." + std::string(c), slot++});
    }
    return v;
  }();
  return all;
}

std::optional<std::uint16_t> SlotByName(std::string_view name) {
  for (const auto& m : Metrics()) {
    if (m.name == name) {
      return m.slot;
    }
  }
  return std::nullopt;
}

std::optional<std::uint16_t> ClassSlot(std::string_view klass) {
  std::uint16_t slot = kClassBase;
  for (auto c : bounce::kClasses) {
    if (c == klass) {
      return slot;
    }
    ++slot;
  }
  return std::nullopt;
}

std::string Encode(const Counters& c) {
  std::string out;
  for (std::uint16_t i = 0; i < kSlots; ++i) {
    if (c[i] != 0) {
      PutVarint(out, i);
      PutVarint(out, c[i]);
    }
  }
  return out;
}

void Increment(Sparse& row, std::uint16_t slot) {
  for (auto& [s, n] : row) {
    if (s == slot) {
      ++n;
      return;
    }
  }
  row.emplace_back(slot, 1);
}

std::string Encode(const Sparse& row) {
  std::string out;
  for (const auto& [slot, n] : row) {
    PutVarint(out, slot);
    PutVarint(out, n);
  }
  return out;
}

bool DecodeAdd(std::string_view bytes, Counters& into) {
  while (!bytes.empty()) {
    std::uint64_t slot = 0;
    std::uint64_t value = 0;
    if (!GetVarint(bytes, slot) || !GetVarint(bytes, value) || slot >= kSlots) {
      return false;
    }
    into[slot] += value;
  }
  return true;
}

}  // namespace sluice::stats
