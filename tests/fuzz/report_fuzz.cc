// Fuzz target: an inbound report (DSN, ARF, auto-reply, anything) to a bounce
// or feedback address. Whatever comes in, the parse ends, says a known kind,
// and a DSN names at least one recipient.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "bounce/report.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto r = sluice::bounce::ParseReport(in);
  if (r.kind == sluice::bounce::ReportKind::kDsn && r.recipients.empty()) {
    std::abort();  // a DSN is a DSN because it names a recipient
  }
  for (const auto& s : r.recipients) {
    if (s.status.size() > in.size() || s.final_recipient.size() > in.size()) {
      std::abort();  // nothing comes from nowhere
    }
  }
  return 0;
}
