#include "tracking/token.h"

#include <algorithm>
#include <array>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/base64.h"

namespace sluice::tracking {
namespace {

constexpr std::string_view kDomain{"tracking\0", 9};
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kMaxUrl = 4000;
constexpr char kVersion = '\x01';

std::array<unsigned char, kTagBytes> Tag(std::string_view payload, std::string_view secret) {
  std::string input(kDomain);
  input += payload;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), md, &n);
  std::array<unsigned char, kTagBytes> out{};
  std::copy(md, md + kTagBytes, out.begin());
  return out;
}

std::string ToUrlSafe(std::string b64) {
  while (!b64.empty() && b64.back() == '=') {
    b64.pop_back();
  }
  for (char& c : b64) {
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  return b64;
}

std::optional<std::string> FromUrlSafe(std::string_view text) {
  std::string b64(text);
  for (char& c : b64) {
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (c == '+' || c == '/' || c == '=') {
      return std::nullopt;
    }
  }
  while (b64.size() % 4 != 0) {
    b64 += '=';
  }
  return Base64Decode(b64);
}

}  // namespace

std::optional<std::string> Encode(const Hit& hit, std::string_view secret) {
  if (hit.url.size() > kMaxUrl) {
    return std::nullopt;
  }
  std::string payload;
  payload += kVersion;
  payload += hit.kind == Kind::kOpen ? 'o' : 'c';
  const auto key = hit.id.Key();
  payload.append(key.data(), key.size());
  for (int i = 0; i < 8; ++i) {
    payload += static_cast<char>((static_cast<std::uint64_t>(hit.sent) >> (8 * i)) & 0xff);
  }
  for (const std::string* part : {&hit.recipient, &hit.tenant, &hit.campaign}) {
    if (part->size() > 255) {
      return std::nullopt;
    }
    payload += static_cast<char>(part->size());
    payload += *part;
  }
  payload += hit.url;
  const auto tag = Tag(payload, secret);
  payload.append(reinterpret_cast<const char*>(tag.data()), tag.size());
  return ToUrlSafe(Base64Encode(payload));
}

std::optional<Hit> Decode(std::string_view token, std::string_view secret) {
  if (token.size() > 8000) {
    return std::nullopt;
  }
  auto raw = FromUrlSafe(token);
  constexpr std::size_t kFixed = 2 + 16 + 8 + 3;
  if (!raw || raw->size() < kFixed + kTagBytes) {
    return std::nullopt;
  }
  std::string_view payload(raw->data(), raw->size() - kTagBytes);
  const auto want = Tag(payload, secret);
  if (CRYPTO_memcmp(want.data(), raw->data() + payload.size(), kTagBytes) != 0) {
    return std::nullopt;
  }
  if (payload[0] != kVersion || (payload[1] != 'o' && payload[1] != 'c')) {
    return std::nullopt;
  }
  Hit hit;
  hit.kind = payload[1] == 'o' ? Kind::kOpen : Kind::kClick;
  auto id = SpoolId::FromKey(payload.substr(2, 16));
  if (!id) {
    return std::nullopt;
  }
  hit.id = *id;
  std::uint64_t sent = 0;
  for (int i = 0; i < 8; ++i) {
    sent |= static_cast<std::uint64_t>(static_cast<unsigned char>(payload[18 + i])) << (8 * i);
  }
  hit.sent = static_cast<std::int64_t>(sent);
  payload.remove_prefix(26);
  for (std::string* part : {&hit.recipient, &hit.tenant, &hit.campaign}) {
    if (payload.empty()) {
      return std::nullopt;
    }
    const std::size_t n = static_cast<unsigned char>(payload[0]);
    if (payload.size() < 1 + n) {
      return std::nullopt;
    }
    *part = std::string(payload.substr(1, n));
    payload.remove_prefix(1 + n);
  }
  hit.url = std::string(payload);
  if ((hit.kind == Kind::kClick) == hit.url.empty()) {
    return std::nullopt;
  }
  return hit;
}

}  // namespace sluice::tracking
