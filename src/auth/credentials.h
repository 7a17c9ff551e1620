#pragma once
// Security: stores and checks submission passwords. Only Argon2id hashes are
//           kept (libsodium crypto_pwhash_str); plaintext never touches disk or logs.
// Standards: RFC 9106 (Argon2).
//
// Users file format, one user a line: "name:$argon2id$v=19$m=...,t=...,p=...$salt$hash".
// Blank lines and lines starting with '#' are ignored.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.h"

namespace sluice::auth {

// True if `name` is an acceptable user name: 1-64 of [A-Za-z0-9._@+-].
bool ValidUserName(std::string_view name);

// Hashes a password with Argon2id at libsodium's "moderate" cost. Slow on purpose.
Result<std::string, std::string> HashPassword(std::string_view password);

// Adds or replaces `name` in the users file (written to a temporary file and renamed).
Result<Ok, std::string> StoreUser(const std::string& path, std::string_view name,
                                  std::string_view hash);

class CredentialStore {
 public:
  // An empty path means "no users": every check fails.
  static Result<std::shared_ptr<CredentialStore>, std::string> Load(std::string path);

  // Re-reads the file; on error keeps the current users and returns the reason.
  Result<Ok, std::string> Reload();

  // Blocking (tens of milliseconds): call from a blocking pool. An unknown user
  // costs as much as a known one, so timing does not reveal which names exist.
  bool Verify(std::string_view name, std::string_view password) const;

  std::size_t size() const;

 private:
  explicit CredentialStore(std::string path) : path_(std::move(path)) {}
  using Map = std::unordered_map<std::string, std::string>;
  static Result<Map, std::string> ReadFile(const std::string& path);

  std::string path_;
  mutable std::mutex mu_;
  std::shared_ptr<const Map> users_ = std::make_shared<Map>();
};

}  // namespace sluice::auth
