#pragma once
// Security: the signature is what lets a receiver trust a webhook POST: it
//           covers the id and the timestamp as well as the body, so a replayed
//           or altered request fails verification.
// Standards: Standard Webhooks 1.0 (webhook-id, webhook-timestamp,
//            webhook-signature: "v1," + base64 HMAC-SHA256 over
//            "id.timestamp.body"; secrets "whsec_" + base64 of the key).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::webhook {

// The key a configured secret names: "whsec_BASE64" is the base64-decoded
// key; any other string is used as it is. nullopt: empty, or bad base64.
std::optional<std::string> ParseSecret(std::string_view secret);
// A new secret in the whsec_ form (32 random octets).
std::string MakeSecret();
// The webhook-signature header value for one request.
std::string Sign(std::string_view key, std::string_view id, std::int64_t timestamp,
                 std::string_view body);

}  // namespace sluice::webhook
