#include "auth/credentials.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace sluice::auth {
namespace {

bool InitSodium() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

const std::string& DummyHash() {
  static const std::string h = [] {
    auto r = HashPassword("sluice-dummy-password");
    return r ? r.value() : std::string();
  }();
  return h;
}

}  // namespace

bool ValidUserName(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '@' || c == '+' || c == '-';
  });
}

Result<std::string, std::string> HashPassword(std::string_view password) {
  if (!InitSodium()) {
    return Fail(std::string("libsodium failed to initialise"));
  }
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Fail(std::string("out of memory while hashing"));
  }
  return std::string(out);
}

Result<Ok, std::string> StoreUser(const std::string& path, std::string_view name,
                                  std::string_view hash) {
  if (!ValidUserName(name)) {
    return Fail(std::string("invalid user name (1-64 of A-Z a-z 0-9 . _ @ + -)"));
  }
  std::string content;
  {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      auto colon = line.find(':');
      if (colon != std::string::npos && line.substr(0, colon) == name) {
        continue;
      }
      content += line;
      content += '\n';
    }
  }
  content += fmt::format("{}:{}\n", name, hash);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) {
      return Fail("cannot write " + tmp);
    }
    out << content;
    out.flush();
    if (!out) {
      return Fail("cannot write " + tmp);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Fail("cannot rename " + tmp + " to " + path);
  }
  return Ok{};
}

Result<CredentialStore::Map, std::string> CredentialStore::ReadFile(const std::string& path) {
  Map users;
  if (path.empty()) {
    return users;
  }
  std::ifstream in(path);
  if (!in) {
    return Fail("cannot read users file " + path);
  }
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.empty() || line.front() == '#') {
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string::npos || !ValidUserName(line.substr(0, colon)) ||
        line.compare(colon + 1, 10, "$argon2id$") != 0) {
      return Fail(fmt::format("{}:{}: expected name:$argon2id$... hash", path, lineno));
    }
    users[line.substr(0, colon)] = line.substr(colon + 1);
  }
  return users;
}

Result<std::shared_ptr<CredentialStore>, std::string> CredentialStore::Load(std::string path) {
  if (!InitSodium()) {
    return Fail(std::string("libsodium failed to initialise"));
  }
  std::shared_ptr<CredentialStore> store(new CredentialStore(std::move(path)));
  auto r = store->Reload();
  if (!r) {
    return Fail(r.error());
  }
  return store;
}

Result<Ok, std::string> CredentialStore::Reload() {
  auto users = ReadFile(path_);
  if (!users) {
    return Fail(users.error());
  }
  std::lock_guard lock(mu_);
  users_ = std::make_shared<const Map>(std::move(users).value());
  return Ok{};
}

bool CredentialStore::Verify(std::string_view name, std::string_view password) const {
  std::shared_ptr<const Map> users;
  {
    std::lock_guard lock(mu_);
    users = users_;
  }
  auto it = users->find(std::string(name));
  const std::string& hash = it != users->end() ? it->second : DummyHash();
  bool match = !hash.empty() &&
               crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
  return match && it != users->end();
}

std::size_t CredentialStore::size() const {
  std::lock_guard lock(mu_);
  return users_->size();
}

}  // namespace sluice::auth
