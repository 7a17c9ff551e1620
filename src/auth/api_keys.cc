#include "auth/api_keys.h"

#include <sodium.h>

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "core/durable_file.h"

namespace sluice::auth {

namespace {

bool SodiumReady() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

std::string RandomHex(std::size_t bytes) {
  std::vector<unsigned char> b(bytes);
  randombytes_buf(b.data(), b.size());
  std::string out(bytes * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), b.data(), b.size());
  out.pop_back();
  return out;
}

std::string HashOf(std::string_view secret) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  std::string out(sizeof h * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), h, sizeof h);
  out.pop_back();
  return out;
}

bool IsHex(std::string_view s, std::size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// A tenant name goes into one field of a line: printable, no spaces.
bool FitsField(std::string_view s) {
  return !s.empty() && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 127; });
}

}  // namespace

Result<std::unique_ptr<ApiKeyStore>, std::string> ApiKeyStore::Load(std::string path) {
  if (!SodiumReady()) {
    return Fail(std::string("libsodium failed to initialise"));
  }
  std::unique_ptr<ApiKeyStore> store(new ApiKeyStore(path));
  std::string text;
  if (!ReadWholeFile(path, &text)) {
    return Fail(fmt::format("{}: cannot read", path));
  }
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line.front() == '#') {
      continue;
    }
    std::istringstream f(line);
    Entry e;
    std::string owner;
    std::string extra;
    if (!(f >> e.key.id >> owner >> e.hash >> e.key.created) || (f >> extra) ||
        !IsHex(e.key.id, 16) || !IsHex(e.hash, 64) ||
        (owner != "operator" && owner.rfind("tenant:", 0) != 0)) {
      return Fail(fmt::format("{}:{}: not \"ID OWNER SHA256 CREATED\"", path, n));
    }
    if (owner != "operator") {
      e.key.tenant = owner.substr(7);
    }
    store->by_hash_[e.hash] = e.key;
    store->entries_.push_back(std::move(e));
  }
  return store;
}

Result<std::pair<ApiKey, std::string>, std::string> ApiKeyStore::Create(const std::string& tenant,
                                                                        std::int64_t now) {
  if (!tenant.empty() && !FitsField(tenant)) {
    return Fail(std::string("a tenant name is 1-64 printable characters without spaces"));
  }
  Entry e;
  e.key.id = RandomHex(8);
  e.key.tenant = tenant;
  e.key.created = now;
  std::string secret = "sk_" + RandomHex(32);  // 256 bits
  e.hash = HashOf(secret);
  std::lock_guard lock(mu_);
  entries_.push_back(e);
  if (auto saved = Save(); !saved) {
    entries_.pop_back();
    return Fail(saved.error());
  }
  by_hash_[e.hash] = e.key;
  return std::pair{e.key, std::move(secret)};
}

Result<bool, std::string> ApiKeyStore::Revoke(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.key.id == id; });
  if (it == entries_.end()) {
    return false;
  }
  Entry gone = *it;
  entries_.erase(it);
  if (auto saved = Save(); !saved) {
    entries_.push_back(gone);
    return Fail(saved.error());
  }
  by_hash_.erase(gone.hash);
  return true;
}

std::vector<ApiKey> ApiKeyStore::List() const {
  std::lock_guard lock(mu_);
  std::vector<ApiKey> out;
  for (const auto& e : entries_) {
    out.push_back(e.key);
  }
  return out;
}

std::optional<ApiKey> ApiKeyStore::Authenticate(std::string_view secret) const {
  if (secret.size() > 256) {
    return std::nullopt;
  }
  const std::string hash = HashOf(secret);
  std::lock_guard lock(mu_);
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) {
    return std::nullopt;
  }
  return it->second;
}

Result<Ok, std::string> ApiKeyStore::Save() const {
  std::string text = "# Sluice API keys: ID OWNER SHA256(key) CREATED (managed by sluice key)\n";
  for (const auto& e : entries_) {
    text += fmt::format("{} {} {} {}\n", e.key.id,
                        e.key.tenant.empty() ? "operator" : "tenant:" + e.key.tenant, e.hash,
                        e.key.created);
  }
  std::string error;
  if (!ReplaceFileDurably(path_, text, &error)) {
    return Fail(fmt::format("{}: {}", path_, error));
  }
  return Ok{};
}

}  // namespace sluice::auth
