#include "tls/tls.h"

#include <optional>
#include <utility>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

namespace sluice::tls {

std::string LastSslError(const std::string& what) {
  unsigned long e = ERR_get_error();
  char buf[256] = {0};
  if (e != 0) {
    ERR_error_string_n(e, buf, sizeof buf);
  }
  ERR_clear_error();
  return what + (e != 0 ? std::string(": ") + buf : std::string());
}

namespace {

// An ephemeral P-256 key and a one-year self-signed certificate for `host`.
Result<Ok, std::string> UseSelfSigned(SSL_CTX* ctx, const std::string& host) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) {
    return Fail(LastSslError("generating a key"));
  }
  X509* x = X509_new();
  std::unique_ptr<X509, decltype(&X509_free)> xg(x, X509_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> kg(key, EVP_PKEY_free);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_set_version(x, 2);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  std::string san = "DNS:" + host;
  if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str())) {
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x, key, EVP_sha256()) == 0) {
    return Fail(LastSslError("signing the self-signed certificate"));
  }
  if (SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
    return Fail(LastSslError("installing the self-signed certificate"));
  }
  return Ok{};
}

}  // namespace

namespace {

// Applies the version and cipher settings; the error names the key.
std::optional<std::pair<std::string, std::string>> ApplyProtocol(SSL_CTX* native,
                                                                 const ServerOptions& opts) {
  if (opts.min_version != "1.2" && opts.min_version != "1.3") {
    return std::pair<std::string, std::string>{"tls_min_version", "must be \"1.2\" or \"1.3\""};
  }
  SSL_CTX_set_min_proto_version(native,
                                opts.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  if (!opts.ciphers.empty() && SSL_CTX_set_cipher_list(native, opts.ciphers.c_str()) != 1) {
    return std::pair<std::string, std::string>{
        "tls_ciphers", LastSslError("no usable cipher in \"" + opts.ciphers + "\"")};
  }
  if (!opts.ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(native, opts.ciphersuites.c_str()) != 1) {
    return std::pair<std::string, std::string>{
        "tls_ciphersuites", LastSslError("no usable suite in \"" + opts.ciphersuites + "\"")};
  }
  return std::nullopt;
}

}  // namespace

Result<Ok, std::pair<std::string, std::string>> CheckProtocolSettings(const ServerOptions& opts) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()),
                                                        SSL_CTX_free);
  if (ctx == nullptr) {
    return Fail(std::pair<std::string, std::string>{"tls", "cannot make a TLS context"});
  }
  if (auto e = ApplyProtocol(ctx.get(), opts)) {
    return Fail(std::move(*e));
  }
  return Ok{};
}

Result<ContextPtr, std::string> MakeServerContext(const ServerOptions& opts) {
  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  if (auto e = ApplyProtocol(native, opts)) {
    return Fail(e->first + ": " + e->second);
  }
  SSL_CTX_set_options(
      native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // OpenSSL's record buffers go back while a session is idle.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  if (opts.cert_file.empty()) {
    auto r = UseSelfSigned(native, opts.hostname);
    if (!r) {
      return Fail(r.error());
    }
  } else {
    if (SSL_CTX_use_certificate_chain_file(native, opts.cert_file.c_str()) != 1) {
      return Fail(LastSslError("cannot load certificate " + opts.cert_file));
    }
    if (SSL_CTX_use_PrivateKey_file(native, opts.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return Fail(LastSslError("cannot load private key " + opts.key_file));
    }
    if (SSL_CTX_check_private_key(native) != 1) {
      return Fail(LastSslError("private key does not match certificate " + opts.cert_file));
    }
  }
  return ctx;
}

Result<std::shared_ptr<ServerContextHolder>, std::string> ServerContextHolder::Create(
    ServerOptions opts) {
  auto ctx = MakeServerContext(opts);
  if (!ctx) {
    return Fail(ctx.error());
  }
  return std::shared_ptr<ServerContextHolder>(
      new ServerContextHolder(std::move(opts), std::move(ctx).value()));
}

ContextPtr ServerContextHolder::Current() const {
  std::lock_guard lock(mu_);
  return ctx_;
}

Result<Ok, std::string> ServerContextHolder::Reload() {
  if (opts_.cert_file.empty()) {
    return Ok{};  // nothing on disk to reload
  }
  auto ctx = MakeServerContext(opts_);
  if (!ctx) {
    return Fail(ctx.error());
  }
  std::lock_guard lock(mu_);
  ctx_ = std::move(ctx).value();
  return Ok{};
}

std::string ServerContextHolder::FilesStamp() const {
  std::string out;
  for (const std::string* f : {&opts_.cert_file, &opts_.key_file}) {
    struct stat st {};
    if (f->empty() || ::stat(f->c_str(), &st) != 0) {
      out += "-;";
      continue;
    }
    out += std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ";";
  }
  return out;
}

Result<bool, std::string> ServerContextHolder::ReloadIfChanged() {
  if (opts_.cert_file.empty()) {
    return false;
  }
  std::string now = FilesStamp();
  {
    std::lock_guard lock(mu_);
    if (now == seen_) {
      return false;
    }
    seen_ = now;  // one attempt per change, successful or not
  }
  auto r = Reload();
  if (!r) {
    return Fail(r.error());
  }
  return true;
}

SessionInfo Describe(const SSL* ssl) {
  SessionInfo info;
  if (ssl == nullptr) {
    return info;
  }
  info.version = SSL_get_version(ssl);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) {
    info.cipher = SSL_CIPHER_get_name(c);
    info.bits = SSL_CIPHER_get_bits(c, nullptr);
  }
  return info;
}

}  // namespace sluice::tls
