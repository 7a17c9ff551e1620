#include "webhook/signature.h"

#include <string>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/base64.h"

namespace sluice::webhook {

std::optional<std::string> ParseSecret(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  if (secret.substr(0, kPrefix.size()) == kPrefix) {
    auto key = Base64Decode(secret.substr(kPrefix.size()));
    if (!key || key->empty()) {
      return std::nullopt;
    }
    return key;
  }
  if (secret.empty()) {
    return std::nullopt;
  }
  return std::string(secret);
}

std::string MakeSecret() {
  unsigned char key[32];
  if (RAND_bytes(key, sizeof key) != 1) {
    return "";
  }
  return "whsec_" + Base64Encode(std::string_view(reinterpret_cast<const char*>(key), sizeof key));
}

std::string Sign(std::string_view key, std::string_view id, std::int64_t timestamp,
                 std::string_view body) {
  std::string signed_content;
  signed_content.reserve(id.size() + body.size() + 24);
  signed_content.append(id);
  signed_content += '.';
  signed_content += std::to_string(timestamp);
  signed_content += '.';
  signed_content.append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(signed_content.data()), signed_content.size(), mac,
       &len);
  return "v1," + Base64Encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

}  // namespace sluice::webhook
