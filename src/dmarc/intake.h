#pragma once
// Security: reads mail anyone may send to the rua address; each attachment
//           is unpacked and parsed within bounds (dmarc/unpack.h,
//           dmarc/aggregate.h), at most kMaxAttachments a message; nothing
//           is sent back.
// Standards: RFC 7489 §7.2.1.1 (the report travels as a MIME attachment,
//            gzip, zip or plain XML), RFC 2045 §6 (base64 transfer encoding),
//            RFC 2046 §5.1 (multipart).
//
// DMARC aggregate reports mailed to our rua address, taken out of their
// messages and stored.

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dmarc/aggregate.h"
#include "dmarc/store.h"

namespace sluice::dmarc {

inline constexpr std::size_t kMaxAttachments = 16;

// The attachments of a message that may be reports (by media type or file
// name), transfer-decoded.
std::vector<std::string> ReportAttachments(std::string_view message);

struct IntakeStats {
  std::uint64_t stored = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t refused = 0;  // attachments that were not reports
};

class Intake {
 public:
  // `on_stored` (may be empty) is told of each report stored (metrics).
  // Reports are taken only for `domains` and their subdomains (anyone may
  // mail the address: others' reports would only fill the store).
  using OnStored = std::function<void(const AggregateReport&)>;
  // At most `max_daily_bytes` of report XML is taken a day (UTC): the
  // address is public, the store must not be filled through it.
  Intake(Store& store, ParseLimits limits, std::vector<std::string> domains, OnStored on_stored,
         std::uint64_t max_daily_bytes = 256u << 20)
      : store_(store),
        limits_(limits),
        domains_(std::move(domains)),
        on_stored_(std::move(on_stored)),
        max_daily_bytes_(max_daily_bytes) {}

  struct Taken {
    std::size_t reports = 0;  // stored or already stored
    std::vector<std::string> problems;
    bool try_later = false;  // the store failed: the sender should try again
  };
  // Blocking (a synced write per report): off the reactor.
  Taken Take(std::string_view message, std::int64_t now);
  IntakeStats stats() const { return {stored_.load(), duplicates_.load(), refused_.load()}; }

 private:
  bool Ours(const std::string& domain) const;

  Store& store_;
  ParseLimits limits_;
  std::vector<std::string> domains_;
  OnStored on_stored_;
  std::uint64_t max_daily_bytes_;
  std::mutex day_mu_;
  std::int64_t day_ = -1;  // the UTC day bytes_today_ counts
  std::uint64_t bytes_today_ = 0;
  std::atomic<std::uint64_t> stored_{0}, duplicates_{0}, refused_{0};
};

}  // namespace sluice::dmarc
