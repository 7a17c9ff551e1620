#include "bounce/verp.h"

#include <array>
#include <cctype>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace sluice::bounce {
namespace {

constexpr std::string_view kBounce = "b-";
constexpr std::string_view kUnsubscribe = "u-";
// Mixed into an unsubscribe token's tag, so that a bounce address (which a
// recipient sees as the Return-Path) is never also an unsubscribe token.
constexpr std::string_view kUnsubscribeDomain{"unsubscribe\0", 12};
constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::size_t kTagBytes = 8;

// The first N octets of HMAC-SHA256(secret, domain | payload).
template <std::size_t N>
std::array<unsigned char, N> Mac(std::string_view payload, std::string_view secret,
                                 std::string_view domain) {
  static_assert(N <= 32);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  std::string input(domain);
  input += payload;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), md, &n);
  std::array<unsigned char, N> out{};
  std::copy(md, md + N, out.begin());
  return out;
}

std::array<unsigned char, kTagBytes> Tag(std::string_view payload, std::string_view secret,
                                         std::string_view domain) {
  return Mac<kTagBytes>(payload, secret, domain);
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

std::string Encode(const VerpTag& tag, std::string_view secret, std::string_view prefix,
                   std::string_view domain) {
  const auto key = tag.id.Key();
  std::string payload(key.data(), key.size());
  for (std::uint32_t v = tag.recipient;; v >>= 7) {
    if (v < 0x80) {
      payload += static_cast<char>(v);
      break;
    }
    payload += static_cast<char>((v & 0x7f) | 0x80);
  }
  const auto t = Tag(payload, secret, domain);
  payload.append(reinterpret_cast<const char*>(t.data()), t.size());
  return std::string(prefix) + Base32(payload);
}

std::optional<VerpTag> Decode(std::string_view local_part, std::string_view secret,
                              std::string_view prefix, std::string_view domain) {
  if (local_part.size() < prefix.size() || local_part.size() > 64) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(local_part[i])) != prefix[i]) {
      return std::nullopt;
    }
  }
  auto raw = FromBase32(local_part.substr(prefix.size()));
  if (!raw || raw->size() < 16 + 1 + kTagBytes || raw->size() > 16 + 5 + kTagBytes) {
    return std::nullopt;
  }
  const std::string_view payload(raw->data(), raw->size() - kTagBytes);
  const auto want = Tag(payload, secret, domain);
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

}  // namespace

std::string EncodeVerp(const VerpTag& tag, std::string_view secret) {
  return Encode(tag, secret, kBounce, {});
}

std::optional<VerpTag> DecodeVerp(std::string_view local_part, std::string_view secret) {
  return Decode(local_part, secret, kBounce, {});
}

std::string EncodeUnsubscribe(const VerpTag& tag, std::string_view secret) {
  return Encode(tag, secret, kUnsubscribe, kUnsubscribeDomain);
}

std::optional<VerpTag> DecodeUnsubscribe(std::string_view token, std::string_view secret) {
  return Decode(token, secret, kUnsubscribe, kUnsubscribeDomain);
}

namespace {

constexpr std::string_view kLinkPrefix = "l";
constexpr std::string_view kLinkDomain{"unsubscribe-link\0", 17};
constexpr std::size_t kLinkTagBytes = 16;

std::array<unsigned char, kLinkTagBytes> LinkTag(std::string_view payload,
                                                 std::string_view secret) {
  return Mac<kLinkTagBytes>(payload, secret, kLinkDomain);
}

}  // namespace

std::optional<std::string> EncodeUnsubscribeLink(const UnsubscribeLink& link,
                                                 std::string_view secret) {
  const auto key = link.tag.id.Key();
  std::string payload(key.data(), key.size());
  for (int i = 0; i < 4; ++i) {
    payload += static_cast<char>((link.tag.recipient >> (8 * i)) & 0xff);
  }
  for (const std::string* part : {&link.recipient, &link.tenant, &link.campaign}) {
    if (part->size() > 255) {
      return std::nullopt;
    }
    payload += static_cast<char>(part->size());
    payload += *part;
  }
  const auto t = LinkTag(payload, secret);
  payload.append(reinterpret_cast<const char*>(t.data()), t.size());
  return std::string(kLinkPrefix) + Base32(payload);
}

std::optional<UnsubscribeLink> DecodeUnsubscribeLink(std::string_view token,
                                                     std::string_view secret) {
  if (token.size() < kLinkPrefix.size() + 1 || token.size() > 2000 ||
      std::tolower(static_cast<unsigned char>(token[0])) != kLinkPrefix[0]) {
    return std::nullopt;
  }
  auto raw = FromBase32(token.substr(kLinkPrefix.size()));
  if (!raw || raw->size() < 16 + 4 + 3 + kLinkTagBytes) {
    return std::nullopt;
  }
  std::string_view payload(raw->data(), raw->size() - kLinkTagBytes);
  const auto want = LinkTag(payload, secret);
  if (CRYPTO_memcmp(want.data(), raw->data() + payload.size(), kLinkTagBytes) != 0) {
    return std::nullopt;
  }
  auto id = SpoolId::FromKey(payload.substr(0, 16));
  if (!id) {
    return std::nullopt;
  }
  UnsubscribeLink link;
  link.tag.id = *id;
  for (int i = 0; i < 4; ++i) {
    link.tag.recipient |= static_cast<std::uint32_t>(static_cast<unsigned char>(payload[16 + i]))
                          << (8 * i);
  }
  payload.remove_prefix(20);
  for (std::string* part : {&link.recipient, &link.tenant, &link.campaign}) {
    if (payload.empty()) {
      return std::nullopt;
    }
    const std::size_t n = static_cast<unsigned char>(payload[0]);
    if (payload.size() < 1 + n) {
      return std::nullopt;
    }
    part->assign(payload.substr(1, n));
    payload.remove_prefix(1 + n);
  }
  if (!payload.empty()) {
    return std::nullopt;
  }
  return link;
}

}  // namespace sluice::bounce
