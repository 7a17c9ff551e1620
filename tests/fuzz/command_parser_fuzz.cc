// Fuzz target: SMTP command lines (smtp/proto/command.h).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "smtp/proto/command.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto r = sluice::smtp::ParseCommand(line);
  if (r.ok()) {
    // Everything a session does with a parsed command must be safe too.
    (void)r->path.ToString();
    (void)sluice::smtp::EncodeXtext(r->mail.envid);
  } else {
    (void)sluice::smtp::Format(sluice::smtp::ReplyFor(r.error()));
  }
  return 0;
}
