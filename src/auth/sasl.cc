#include "auth/sasl.h"

#include "core/base64.h"

namespace sluice::auth {

std::optional<PlainCredentials> DecodePlain(std::string_view base64) {
  auto raw = Base64Decode(base64);
  if (!raw) {
    return std::nullopt;
  }
  auto first = raw->find('\0');
  if (first == std::string::npos) {
    return std::nullopt;
  }
  auto second = raw->find('\0', first + 1);
  if (second == std::string::npos || raw->find('\0', second + 1) != std::string::npos) {
    return std::nullopt;
  }
  PlainCredentials c;
  c.authzid = raw->substr(0, first);
  c.authcid = raw->substr(first + 1, second - first - 1);
  c.password = raw->substr(second + 1);
  if (c.authcid.empty()) {
    return std::nullopt;
  }
  return c;
}

}  // namespace sluice::auth
