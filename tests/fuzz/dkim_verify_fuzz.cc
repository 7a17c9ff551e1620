// Fuzz target: DKIM verification of an arbitrary message (dkim/verify.h):
// header splitting, canonicalisation, tag lists, key records. The key lookup
// answers every name with a fixed Ed25519 record, so the whole path runs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dkim/canon.h"
#include "dkim/verify.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view msg(reinterpret_cast<const char*>(data), size);
  auto lookup = [](const std::string&) -> sluice::Result<std::string, sluice::dkim::LookupError> {
    return std::string("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  };
  auto verdicts = sluice::dkim::Verify(msg, lookup);
  for (const auto& v : verdicts) {
    if (v.status == sluice::dkim::Status::kPass && msg.find("b=") == std::string_view::npos) {
      std::abort();  // a pass needs a signature
    }
  }
  // The canonical body never has trailing empty lines.
  for (auto c : {sluice::dkim::Canon::kSimple, sluice::dkim::Canon::kRelaxed}) {
    std::string body;
    sluice::dkim::CanonBody(c, msg, [&](std::string_view s) { body.append(s); });
    if (body.size() >= 4 && body.compare(body.size() - 4, 4, "\r\n\r\n") == 0) {
      std::abort();
    }
  }
  return 0;
}
