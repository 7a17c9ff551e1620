#include "bounce/verp.h"

#include <array>
#include <cctype>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace sluice::bounce {
namespace {

constexpr std::string_view kPrefix = "b-";
constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::size_t kTagBytes = 8;

std::array<unsigned char, kTagBytes> Tag(std::string_view payload, std::string_view secret) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), md, &n);
  std::array<unsigned char, kTagBytes> out{};
  std::copy(md, md + kTagBytes, out.begin());
  return out;
}

std::string Base32(std::string_view in) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) {
    out += kAlphabet[(buffer << (5 - bits)) & 31];
  }
  return out;
}

std::optional<std::string> FromBase32(std::string_view in) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char raw : in) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(raw)));
    const auto v = kAlphabet.find(c);
    if (v == std::string_view::npos) {
      return std::nullopt;
    }
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out += static_cast<char>((buffer >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  if (bits >= 5 || (buffer & ((1u << bits) - 1)) != 0) {
    return std::nullopt;  // not what Base32 makes: extra or non-zero trailing bits
  }
  return out;
}

}  // namespace

std::string EncodeVerp(const VerpTag& tag, std::string_view secret) {
  const auto key = tag.id.Key();
  std::string payload(key.data(), key.size());
  for (std::uint32_t v = tag.recipient;; v >>= 7) {
    if (v < 0x80) {
      payload += static_cast<char>(v);
      break;
    }
    payload += static_cast<char>((v & 0x7f) | 0x80);
  }
  const auto t = Tag(payload, secret);
  payload.append(reinterpret_cast<const char*>(t.data()), t.size());
  return std::string(kPrefix) + Base32(payload);
}

std::optional<VerpTag> DecodeVerp(std::string_view local_part, std::string_view secret) {
  if (local_part.size() < kPrefix.size() || local_part.size() > 64) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < kPrefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(local_part[i])) != kPrefix[i]) {
      return std::nullopt;
    }
  }
  auto raw = FromBase32(local_part.substr(kPrefix.size()));
  if (!raw || raw->size() < 16 + 1 + kTagBytes || raw->size() > 16 + 5 + kTagBytes) {
    return std::nullopt;
  }
  const std::string_view payload(raw->data(), raw->size() - kTagBytes);
  const auto want = Tag(payload, secret);
  if (CRYPTO_memcmp(want.data(), raw->data() + payload.size(), kTagBytes) != 0) {
    return std::nullopt;
  }
  auto id = SpoolId::FromKey(payload.substr(0, 16));
  if (!id) {
    return std::nullopt;
  }
  std::uint64_t index = 0;
  std::size_t i = 16;
  for (int shift = 0; i < payload.size(); ++i, shift += 7) {
    const auto b = static_cast<unsigned char>(payload[i]);
    index |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      ++i;
      break;
    }
  }
  if (i != payload.size() || index > UINT32_MAX) {
    return std::nullopt;
  }
  return VerpTag{*id, static_cast<std::uint32_t>(index)};
}

}  // namespace sluice::bounce
