#pragma once
// Security: private keys are read from files the operator names and never
//           logged; public keys arrive from DNS (untrusted) and are parsed strictly.
// Standards: RFC 6376 §3.3 (rsa-sha256), §3.6.1 (key records), RFC 8463
//            (ed25519-sha256: Ed25519 over the SHA-256 of the header data),
//            RFC 8301 (RSA keys of at least 1024 bits to verify, 2048 to sign).

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

struct evp_pkey_st;

namespace sluice::dkim {

enum class Algorithm { kRsaSha256, kEd25519Sha256 };
const char* ToString(Algorithm a);  // "rsa-sha256", "ed25519-sha256"
std::optional<Algorithm> ParseAlgorithm(std::string_view s);
const char* KeyType(Algorithm a);  // the k= of a key record: "rsa", "ed25519"

// A signing key. Copies share the key; signing is safe from several threads.
class PrivateKey {
 public:
  static Result<PrivateKey, std::string> FromPem(std::string_view pem);
  static Result<PrivateKey, std::string> LoadPemFile(const std::string& path);
  // Ed25519, or RSA of `rsa_bits` bits.
  static Result<PrivateKey, std::string> Generate(Algorithm a, int rsa_bits = 2048);

  Algorithm algorithm() const { return algorithm_; }
  int bits() const;
  std::string ToPem() const;  // PKCS#8
  // The p= value: base64 of the SubjectPublicKeyInfo (RSA) or the raw 32-byte key (Ed25519).
  std::string PublicKeyBase64() const;
  // The TXT record to publish at <selector>._domainkey.<domain>.
  std::string DnsRecord() const;
  // The signature over canonical header data, per the key's algorithm.
  // Prepared OpenSSL contexts are reused across calls (and threads), as
  // setting one up costs about as much as an Ed25519 signature.
  Result<std::string, std::string> Sign(std::string_view header_data) const;

 private:
  struct Contexts;
  void Prepare();

  std::shared_ptr<evp_pkey_st> pkey_;
  std::shared_ptr<Contexts> contexts_;
  Algorithm algorithm_ = Algorithm::kRsaSha256;
};

// A key record from DNS.
class PublicKey {
 public:
  // Parses "v=DKIM1; k=rsa; p=..." (§3.6.1). An empty p= (revoked key) is an error.
  static Result<PublicKey, std::string> FromRecord(std::string_view record);
  static Result<PublicKey, std::string> FromBase64(Algorithm a, std::string_view p);

  Algorithm algorithm() const { return algorithm_; }
  int bits() const;
  const std::string& base64() const { return base64_; }
  bool Verify(std::string_view header_data, std::string_view signature) const;

 private:
  std::shared_ptr<evp_pkey_st> pkey_;
  Algorithm algorithm_ = Algorithm::kRsaSha256;
  std::string base64_;
};

// SHA-256 of `data`, raw bytes.
std::string Sha256(std::string_view data);

// Incremental SHA-256 (body hashes).
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void Update(std::string_view data);
  std::string Final();  // raw bytes

 private:
  void* ctx_;
};

}  // namespace sluice::dkim
