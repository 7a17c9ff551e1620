#include "dkim/key.h"

#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "core/base64.h"
#include "dkim/tag_list.h"

namespace sluice::dkim {
namespace {

std::shared_ptr<EVP_PKEY> Own(EVP_PKEY* k) { return {k, EVP_PKEY_free}; }

std::string OpenSslError(const std::string& what) {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) {
    return what;
  }
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return what + ": " + buf;
}

std::optional<Algorithm> AlgorithmOf(EVP_PKEY* k) {
  switch (EVP_PKEY_get_base_id(k)) {
    case EVP_PKEY_RSA:
      return Algorithm::kRsaSha256;
    case EVP_PKEY_ED25519:
      return Algorithm::kEd25519Sha256;
    default:
      return std::nullopt;
  }
}

// What is signed: the header data itself (RSA, with SHA-256 inside the
// signature scheme) or its SHA-256 (Ed25519 signs the hash, RFC 8463 §3).
std::string Signed(Algorithm a, std::string_view header_data) {
  return a == Algorithm::kEd25519Sha256 ? Sha256(header_data) : std::string(header_data);
}

const EVP_MD* DigestFor(Algorithm a) {
  return a == Algorithm::kRsaSha256 ? EVP_sha256() : nullptr;
}

}  // namespace

const char* ToString(Algorithm a) {
  return a == Algorithm::kRsaSha256 ? "rsa-sha256" : "ed25519-sha256";
}

std::optional<Algorithm> ParseAlgorithm(std::string_view s) {
  if (s == "rsa-sha256") {
    return Algorithm::kRsaSha256;
  }
  if (s == "ed25519-sha256") {
    return Algorithm::kEd25519Sha256;
  }
  return std::nullopt;
}

const char* KeyType(Algorithm a) { return a == Algorithm::kRsaSha256 ? "rsa" : "ed25519"; }

Result<PrivateKey, std::string> PrivateKey::FromPem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) {
    return Fail(OpenSslError("not a PEM private key"));
  }
  PrivateKey k;
  k.pkey_ = Own(raw);
  auto a = AlgorithmOf(raw);
  if (!a) {
    return Fail(std::string("the key is neither RSA nor Ed25519"));
  }
  k.algorithm_ = *a;
  k.Prepare();
  if (k.algorithm_ == Algorithm::kRsaSha256 && k.bits() < 1024) {
    return Fail("an RSA key of " + std::to_string(k.bits()) +
                " bits is too short (RFC 8301: at least 1024, 2048 recommended)");
  }
  return k;
}

Result<PrivateKey, std::string> PrivateKey::LoadPemFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Fail("cannot read " + path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto k = FromPem(ss.str());
  if (!k) {
    return Fail(path + ": " + k.error());
  }
  return k;
}

Result<PrivateKey, std::string> PrivateKey::Generate(Algorithm a, int rsa_bits) {
  EVP_PKEY* raw = a == Algorithm::kRsaSha256
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits))
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (raw == nullptr) {
    return Fail(OpenSslError("key generation failed"));
  }
  PrivateKey k;
  k.pkey_ = Own(raw);
  k.algorithm_ = a;
  k.Prepare();
  return k;
}

int PrivateKey::bits() const { return EVP_PKEY_get_bits(pkey_.get()); }

std::string PrivateKey::ToPem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string PrivateKey::PublicKeyBase64() const {
  if (algorithm_ == Algorithm::kEd25519Sha256) {
    unsigned char raw[32];
    std::size_t n = sizeof raw;
    EVP_PKEY_get_raw_public_key(pkey_.get(), raw, &n);
    return Base64Encode(std::string_view(reinterpret_cast<char*>(raw), n));
  }
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(pkey_.get(), &der);
  std::string out = Base64Encode(std::string_view(reinterpret_cast<char*>(der), n > 0 ? n : 0));
  OPENSSL_free(der);
  return out;
}

std::string PrivateKey::DnsRecord() const {
  return std::string("v=DKIM1; k=") + KeyType(algorithm_) + "; p=" + PublicKeyBase64();
}

// Signing contexts ready for use: EVP_PKEY_CTX set up for RSA PKCS#1 v1.5
// over a SHA-256 digest, or EVP_MD_CTX initialised for Ed25519.
struct PrivateKey::Contexts {
  std::mutex mu;
  std::vector<void*> free;
  Algorithm algorithm = Algorithm::kRsaSha256;
  // Ed25519 signs through libsodium: no shared state, so threads never meet
  // on a lock (OpenSSL 3.0 fetches SHA-512 under a global lock per signature).
  // The signature is the same (RFC 8032 signing is deterministic).
  bool sodium = false;
  unsigned char ed_secret[crypto_sign_SECRETKEYBYTES] = {};
  ~Contexts() {
    for (void* c : free) {
      Destroy(c);
    }
    sodium_memzero(ed_secret, sizeof ed_secret);
  }
  void Destroy(void* c) const {
    if (algorithm == Algorithm::kRsaSha256) {
      EVP_PKEY_CTX_free(static_cast<EVP_PKEY_CTX*>(c));
    } else {
      EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(c));
    }
  }
  void* Take(EVP_PKEY* pkey) {
    {
      std::lock_guard lock(mu);
      if (!free.empty()) {
        void* c = free.back();
        free.pop_back();
        return c;
      }
    }
    if (algorithm == Algorithm::kRsaSha256) {
      EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr);
      if (c == nullptr || EVP_PKEY_sign_init(c) != 1 ||
          EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) != 1 ||
          EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) != 1) {
        EVP_PKEY_CTX_free(c);
        return nullptr;
      }
      return c;
    }
    EVP_MD_CTX* c = EVP_MD_CTX_new();
    if (c == nullptr || EVP_DigestSignInit(c, nullptr, nullptr, nullptr, pkey) != 1) {
      EVP_MD_CTX_free(c);
      return nullptr;
    }
    return c;
  }
  void Give(void* c) {
    std::lock_guard lock(mu);
    free.push_back(c);
  }
};

void PrivateKey::Prepare() {
  contexts_ = std::make_shared<Contexts>();
  contexts_->algorithm = algorithm_;
  if (algorithm_ == Algorithm::kEd25519Sha256 && sodium_init() >= 0) {
    unsigned char seed[32];
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    std::size_t n = sizeof seed;
    if (EVP_PKEY_get_raw_private_key(pkey_.get(), seed, &n) == 1 && n == sizeof seed &&
        crypto_sign_seed_keypair(pk, contexts_->ed_secret, seed) == 0) {
      contexts_->sodium = true;
    }
    sodium_memzero(seed, sizeof seed);
  }
}

Result<std::string, std::string> PrivateKey::Sign(std::string_view header_data) const {
  // Both algorithms sign the SHA-256 of the header data: RSA inside PKCS#1
  // v1.5's DigestInfo (RFC 6376 §3.3.1), Ed25519 directly (RFC 8463 §3).
  const std::string digest = Sha256(header_data);
  if (contexts_->sodium) {
    std::string sig(crypto_sign_BYTES, '\0');
    unsigned long long len = 0;
    crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), &len,
                         reinterpret_cast<const unsigned char*>(digest.data()), digest.size(),
                         contexts_->ed_secret);
    sig.resize(static_cast<std::size_t>(len));
    return sig;
  }
  void* c = contexts_->Take(pkey_.get());
  if (c == nullptr) {
    return Fail(OpenSslError("cannot set up signing"));
  }
  std::string sig(static_cast<std::size_t>(EVP_PKEY_get_size(pkey_.get())), '\0');
  std::size_t len = sig.size();
  const auto* in = reinterpret_cast<const unsigned char*>(digest.data());
  auto* out = reinterpret_cast<unsigned char*>(sig.data());
  bool ok = algorithm_ == Algorithm::kRsaSha256
                ? EVP_PKEY_sign(static_cast<EVP_PKEY_CTX*>(c), out, &len, in, digest.size()) == 1
                : EVP_DigestSign(static_cast<EVP_MD_CTX*>(c), out, &len, in, digest.size()) == 1;
  if (!ok) {
    contexts_->Destroy(c);  // its state is unknown now
    return Fail(OpenSslError("signing failed"));
  }
  contexts_->Give(c);
  sig.resize(len);
  return sig;
}

Result<PublicKey, std::string> PublicKey::FromRecord(std::string_view record) {
  auto tags = ParseTagList(record);
  if (!tags) {
    return Fail(std::string("key record syntax error"));
  }
  if (auto v = Find(*tags, "v"); v && *v != "DKIM1") {
    return Fail("unknown key record version " + std::string(*v));
  }
  Algorithm a = Algorithm::kRsaSha256;  // §3.6.1: k= defaults to rsa
  if (auto k = Find(*tags, "k")) {
    if (*k == "ed25519") {
      a = Algorithm::kEd25519Sha256;
    } else if (*k != "rsa") {
      return Fail("unknown key type k=" + std::string(*k));
    }
  }
  if (auto h = Find(*tags, "h")) {
    // Acceptable hash algorithms, colon separated: sha256 must be among them.
    std::string hs = StripWhitespace(*h);
    bool sha256 = false;
    for (std::size_t pos = 0; pos <= hs.size();) {
      auto c = hs.find(':', pos);
      sha256 = sha256 || hs.substr(pos, c - pos) == "sha256";
      if (c == std::string::npos) {
        break;
      }
      pos = c + 1;
    }
    if (!sha256) {
      return Fail(std::string("key record does not allow sha256 (h=)"));
    }
  }
  auto p = Find(*tags, "p");
  if (!p) {
    return Fail(std::string("key record has no p="));
  }
  std::string b64 = StripWhitespace(*p);
  if (b64.empty()) {
    return Fail(std::string("key revoked (empty p=)"));
  }
  return FromBase64(a, b64);
}

Result<PublicKey, std::string> PublicKey::FromBase64(Algorithm a, std::string_view p) {
  auto der = Base64Decode(p);
  if (!der) {
    return Fail(std::string("p= is not base64"));
  }
  EVP_PKEY* raw = nullptr;
  if (a == Algorithm::kEd25519Sha256) {
    if (der->size() != 32) {
      return Fail(std::string("an Ed25519 key must be 32 bytes"));
    }
    raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                      reinterpret_cast<const unsigned char*>(der->data()), 32);
  } else {
    const auto* ptr = reinterpret_cast<const unsigned char*>(der->data());
    raw = d2i_PUBKEY(nullptr, &ptr, static_cast<long>(der->size()));
    if (raw == nullptr) {
      // Some publish the bare RSAPublicKey rather than SubjectPublicKeyInfo.
      ERR_clear_error();
      ptr = reinterpret_cast<const unsigned char*>(der->data());
      raw = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &ptr, static_cast<long>(der->size()));
    }
  }
  if (raw == nullptr) {
    return Fail(OpenSslError("p= is not a valid public key"));
  }
  PublicKey k;
  k.pkey_ = Own(raw);
  auto actual = AlgorithmOf(raw);
  if (actual != a) {
    return Fail(std::string("p= does not hold a key of type k=") + KeyType(a));
  }
  k.algorithm_ = a;
  k.base64_ = std::string(p);
  return k;
}

int PublicKey::bits() const { return EVP_PKEY_get_bits(pkey_.get()); }

bool PublicKey::Verify(std::string_view header_data, std::string_view signature) const {
  std::string input = Signed(algorithm_, header_data);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  bool ok =
      EVP_DigestVerifyInit(ctx.get(), nullptr, DigestFor(algorithm_), nullptr, pkey_.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1;
  ERR_clear_error();
  return ok;
}

std::string Sha256(std::string_view data) {
  Sha256Hasher h;
  h.Update(data);
  return h.Final();
}

Sha256Hasher::Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}

Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256Hasher::Update(std::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}

std::string Sha256Hasher::Final() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &n);
  return std::string(reinterpret_cast<char*>(md), n);
}

}  // namespace sluice::dkim
