// Fuzz target: SPF macro expansion (RFC 7208 §7) and DMARC record parsing
// (RFC 7489 §6.3), both fed from public DNS.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "doctor/dmarc.h"
#include "doctor/spf.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  sluice::doctor::MacroContext ctx{"local-part@mail.example.com", "example.com", "192.0.2.3",
                                   "mx.example.org"};
  std::string out;
  if (sluice::doctor::ExpandMacros(in, ctx, out) && out.size() > 253 &&
      out.find('.') != std::string::npos) {
    std::abort();  // §7.3: long results are cut to 253 characters
  }
  ctx.ip = "2001:db8::1";
  (void)sluice::doctor::ExpandMacros(in, ctx, out);
  std::string why;
  (void)sluice::doctor::ParseDmarc(in, &why);
  (void)sluice::doctor::PickSpfRecord({std::string(in)});
  return 0;
}
