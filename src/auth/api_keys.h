#pragma once
// Security: the bearer keys of the HTTP API. A key is 256 random bits, shown
//           once when made; only its SHA-256 is kept (a key is not a password:
//           its entropy, not a slow hash, is what resists guessing).
// Standards: RFC 6750 §2.1 (Bearer credentials).
//
// Keys file, one key a line: "ID OWNER SHA256-HEX CREATED-UNIX-SECONDS", OWNER
// "operator" or "tenant:NAME". Blank lines and lines starting with '#' are
// ignored. Written whole with fsync of file and directory (old or new after a
// power loss).

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace sluice::auth {

struct ApiKey {
  std::string id;            // 16 hex digits, not secret: names the key in lists and logs
  std::string tenant;        // empty: an operator key (everything)
  std::int64_t created = 0;  // Unix seconds
  bool operator_key() const { return tenant.empty(); }
};

class ApiKeyStore {
 public:
  // Reads the file (a missing file: no keys yet). Errors name the line.
  static Result<std::unique_ptr<ApiKeyStore>, std::string> Load(std::string path);

  // A new key for `tenant` (empty: operator); the secret is in the result's
  // second member and nowhere else.
  Result<std::pair<ApiKey, std::string>, std::string> Create(const std::string& tenant,
                                                             std::int64_t now);
  // False if no key has that id.
  Result<bool, std::string> Revoke(const std::string& id);
  std::vector<ApiKey> List() const;
  // The key a bearer secret belongs to, if any.
  std::optional<ApiKey> Authenticate(std::string_view secret) const;

 private:
  explicit ApiKeyStore(std::string path) : path_(std::move(path)) {}
  Result<Ok, std::string> Save() const;  // with mu_ held

  struct Entry {
    ApiKey key;
    std::string hash;  // SHA-256 of the secret, hex
  };
  std::string path_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;                       // file order
  std::unordered_map<std::string, ApiKey> by_hash_;  // hash -> key
};

}  // namespace sluice::auth
