#pragma once
// What the statistics count and by what: the metrics (each a slot of a row of
// counters) and the dimensions a row is keyed by. Slot numbers are stored on
// disk: a metric keeps its slot for ever, new ones take free slots.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::stats {

// The dimensions, in the order a row's key holds them.
enum class Dim : std::uint8_t { kTenant, kCampaign, kProvider, kDomain, kSource };
inline constexpr std::size_t kDims = 5;
std::string_view DimName(Dim d);
std::optional<Dim> DimByName(std::string_view name);

// A row's dimension values ("" none: mail without a tenant, a reception's
// provider and egress source).
using Tuple = std::array<std::string, kDims>;

// Slots 0-63 are the metrics below; 64 on, bounce classes (bounce/classify.h
// kClasses, in order: "bounced.bad-mailbox", ...).
enum Slot : std::uint16_t {
  kReceived = 0,  // recipients taken (SMTP or API)
  kDelivered,
  kDeferred,      // transient failures (each attempt)
  kBounced,       // permanent failures, synchronous and asynchronous
  kBouncedHard,   // of them, the address is bad
  kAsyncBounced,  // of them, reported later by a DSN
  kExpired,       // given up on after the queue's lifetime
  kAdminBounced,  // bounced by an operator
  kSuppressed,    // kept from a suppressed recipient
  kComplaints,
  kUnsubscribes,
  kOpens,             // every hit, machine or not
  kUniqueOpens,       // the first hit per message and recipient
  kMachineOpens,      // hits flagged as machine traffic
  kUniqueHumanOpens,  // the first hit not flagged
  kClicks,
  kUniqueClicks,
  kMachineClicks,
  kUniqueHumanClicks,
  kBaseMetrics,  // (not a metric: the number of the above)
};
inline constexpr std::uint16_t kClassBase = 64;
inline constexpr std::uint16_t kSlots = 96;

// Every metric's name and slot, base metrics first.
struct MetricName {
  std::string name;
  std::uint16_t slot;
};
const std::vector<MetricName>& Metrics();
std::optional<std::uint16_t> SlotByName(std::string_view name);
// The slot of a bounce class; nullopt for an unknown one.
std::optional<std::uint16_t> ClassSlot(std::string_view klass);

// One row's counters.
using Counters = std::array<std::uint64_t, kSlots>;

// A row's few non-zero counters, as (slot, value): what a row being
// gathered holds (a few slots of kSlots).
using Sparse = std::vector<std::pair<std::uint16_t, std::uint64_t>>;
void Increment(Sparse& row, std::uint16_t slot);

// On disk: (slot, value) pairs of the non-zero counters, as varints.
std::string Encode(const Counters& c);
std::string Encode(const Sparse& row);
// Adds an encoded row to `into`; false if it is malformed.
bool DecodeAdd(std::string_view bytes, Counters& into);

}  // namespace sluice::stats
