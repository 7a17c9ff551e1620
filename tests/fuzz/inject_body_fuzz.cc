// Fuzz target: the JSON body of POST /api/v1/messages, raw or built from
// parts (templates, headers, attachments). Whatever comes in, a parse that
// succeeds gives messages with CRLF line ends only and no NUL, each with its
// recipients, and no more recipients than the request limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/inject.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = sluice::api::ParseInject(in, "fuzz");
  if (!r) {
    if (r.error().code.empty() || r.error().message.empty()) {
      std::abort();  // a refusal always says why
    }
    return 0;
  }
  std::size_t kept = 0;
  for (const auto& m : r->messages) {
    const auto& c = m.content;
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (c[i] == '\r' && (i + 1 == c.size() || c[i + 1] != '\n')) {
        std::abort();  // a CR only before LF
      }
      if (c[i] == '\n' && (i == 0 || c[i - 1] != '\r')) {
        std::abort();  // an LF only after CR
      }
      if (c[i] == '\0') {
        std::abort();
      }
    }
    if (c.size() < 2 || c.substr(c.size() - 2) != "\r\n") {
      std::abort();  // ends with a line end
    }
    if (m.envelope.recipients.empty() || m.envelope.recipients.size() != m.recipients.size()) {
      std::abort();
    }
    kept += m.recipients.size();
  }
  if (kept + r->rejected.size() > sluice::api::kMaxRecipientsPerRequest) {
    std::abort();
  }
  return 0;
}
