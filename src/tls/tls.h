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

struct ServerOptions {
  std::string cert_file;               // PEM chain; empty: an ephemeral self-signed certificate
  std::string key_file;                // PEM private key
  std::string hostname = "localhost";  // subject of the self-signed certificate
};

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

 private:
  explicit ServerContextHolder(ServerOptions opts, ContextPtr ctx)
      : opts_(std::move(opts)), ctx_(std::move(ctx)) {}
  ServerOptions opts_;
  mutable std::mutex mu_;
  ContextPtr ctx_;
};

// What a session records about its TLS layer.
struct SessionInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  int bits = 0;
};
SessionInfo Describe(const SSL* ssl);

}  // namespace sluice::tls
