#pragma once
// Security: decodes SASL exchanges from untrusted clients.
// Standards: RFC 4954 (SMTP AUTH), RFC 4616 (PLAIN), draft-murchison-sasl-login (LOGIN),
//            (base64 itself: core/base64.h).

#include <optional>
#include <string>
#include <string_view>

namespace sluice::auth {

struct PlainCredentials {
  std::string authzid;
  std::string authcid;
  std::string password;
};

// RFC 4616 §2: message = [authzid] NUL authcid NUL passwd; the base64 text is decoded here.
std::optional<PlainCredentials> DecodePlain(std::string_view base64);

}  // namespace sluice::auth
