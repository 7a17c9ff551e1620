#pragma once
// Security: the one place that shows a new key's secret (once, in the reply
//           to its creation); lists show ids and owners only.
// Standards: RFC 8259 (JSON).
//
// The key commands, shared by the admin socket (`sluice key ...`) and
// /api/v1/keys: each returns the JSON reply, or what is wrong.

#include <cstdint>
#include <string>

#include "auth/api_keys.h"
#include "core/result.h"

namespace sluice::api {

struct KeyCommandError {
  unsigned status = 400;  // the HTTP status it means
  std::string message;
};

// {"keys": [{"id", "tenant" (null: operator), "created"}]}
std::string ListKeys(const auth::ApiKeyStore& keys);
// {"id", "tenant", "created", "key"}: the secret, shown this once.
Result<std::string, KeyCommandError> CreateKey(auth::ApiKeyStore& keys, const std::string& tenant,
                                               std::int64_t now_unix);
// {"revoked": ID}; 404 if there is no such key.
Result<std::string, KeyCommandError> RevokeKey(auth::ApiKeyStore& keys, const std::string& id);

}  // namespace sluice::api
