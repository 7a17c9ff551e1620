#pragma once
// Security: decodes SASL exchanges from untrusted clients.
// Standards: RFC 4954 (SMTP AUTH), RFC 4616 (PLAIN), draft-murchison-sasl-login (LOGIN),
//            RFC 4648 (base64).

#include <optional>
#include <string>
#include <string_view>

namespace sluice::auth {

std::optional<std::string> Base64Decode(std::string_view in);
std::string Base64Encode(std::string_view in);

struct PlainCredentials {
  std::string authzid;
  std::string authcid;
  std::string password;
};

// RFC 4616 §2: message = [authzid] NUL authcid NUL passwd; the base64 text is decoded here.
std::optional<PlainCredentials> DecodePlain(std::string_view base64);

}  // namespace sluice::auth
