#pragma once
// Security: holds server private keys; negotiates TLS with untrusted peers.
// Standards: RFC 8446 / RFC 5246 (TLS 1.3 / 1.2; older versions refused),
//            RFC 3207 (STARTTLS), RFC 8314 (implicit TLS for submission).

#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "core/result.h"

namespace sluice::tls {

// TLS 1.2 ciphers by default: forward secrecy and AEAD only.
inline constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

struct ServerOptions {
  std::string cert_file;                  // PEM chain; empty: an ephemeral self-signed certificate
  std::string key_file;                   // PEM private key
  std::string hostname = "localhost";     // subject of the self-signed certificate
  std::string min_version = "1.2";        // "1.2" or "1.3"
  std::string ciphers = kDefaultCiphers;  // OpenSSL cipher list for TLS 1.2
  std::string ciphersuites;               // TLS 1.3 suites; empty: OpenSSL's
};

// Whether the version and cipher settings are usable; the error names the key
// ("tls_min_version", "tls_ciphers", "tls_ciphersuites") and why.
Result<Ok, std::pair<std::string, std::string>> CheckProtocolSettings(const ServerOptions& opts);

using ContextPtr = std::shared_ptr<boost::asio::ssl::context>;

// Builds a server context (TLS 1.2 minimum, no compression, no renegotiation).
Result<ContextPtr, std::string> MakeServerContext(const ServerOptions& opts);

// The current context of one listener. Reload() swaps in a new one built from
// the same files; sessions already running keep the context they started with.
class ServerContextHolder {
 public:
  static Result<std::shared_ptr<ServerContextHolder>, std::string> Create(ServerOptions opts);
  ContextPtr Current() const;
  // Rebuilds from the files; on failure keeps the old context and returns the reason.
  Result<Ok, std::string> Reload();
  // Reloads when the certificate or key file changed since the last load or
  // attempt (a renewal written in place, or renamed over the old file):
  // true if it did; an error once per change that does not load.
  Result<bool, std::string> ReloadIfChanged();

 private:
  explicit ServerContextHolder(ServerOptions opts, ContextPtr ctx)
      : opts_(std::move(opts)), ctx_(std::move(ctx)), seen_(FilesStamp()) {}
  // What identifies the files' contents cheaply: inode, size, mtime of each.
  std::string FilesStamp() const;
  ServerOptions opts_;
  mutable std::mutex mu_;
  ContextPtr ctx_;
  std::string seen_;  // FilesStamp() at the last load or attempt
};

// What a session records about its TLS layer.
struct SessionInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  int bits = 0;
};
SessionInfo Describe(const SSL* ssl);

// `what`, and OpenSSL's first queued error if any (the queue is then cleared).
std::string LastSslError(const std::string& what);

}  // namespace sluice::tls
