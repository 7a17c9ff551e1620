#pragma once
// Security: import lines come from operators' files; each is checked and a
//           bad one is reported by number, never half-applied.
// Standards: RFC 4180 (CSV; a quoted field may not hold a line break here).
//
// The CSV form of suppression entries, for import and export:
//   address,reason,tenant,campaign,created,expires,source,detail
// with RFC 3339 times ("" expires: never). An import file may leave columns
// out: with a header line it names the columns it has (address at least),
// without one it is read in the order above, so a file of bare addresses works.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "suppression/store.h"

namespace sluice::suppression {

extern const char* const kCsvHeader;  // the header line, without its line break

// One entry as a CSV line (without its line break).
std::string ToCsv(const Entry& e);

// Reads import lines one at a time. What a line leaves out comes from
// `defaults` (scope, reason, source, detail) and `now` (created).
class CsvReader {
 public:
  CsvReader(Entry defaults, std::chrono::system_clock::time_point now)
      : defaults_(std::move(defaults)), now_(now) {}
  // nullopt for a header, blank or comment ("#") line; an error names what is wrong.
  Result<std::optional<Entry>, std::string> Line(std::string_view line);
  // Lines that name another tenant (or none) are errors: a tenant's import.
  void HoldToTenant(std::string tenant) { held_tenant_ = std::move(tenant); }

 private:
  enum class Column {
    kAddress,
    kReason,
    kTenant,
    kCampaign,
    kCreated,
    kExpires,
    kSource,
    kDetail,
    kIgnored
  };
  Entry defaults_;
  std::chrono::system_clock::time_point now_;
  std::vector<Column> columns_;  // from the header; empty: the default order
  std::optional<std::string> held_tenant_;
  bool first_ = true;
};

// Splits one CSV line into fields; an error for an unbalanced quote.
Result<std::vector<std::string>, std::string> SplitCsv(std::string_view line);

}  // namespace sluice::suppression
