#include "tls/peer.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "tls/tls.h"

namespace sluice::tls {

namespace asio = boost::asio;

namespace {

// RFC 8460 §4.3.2.1: the result type a verification error is reported under.
const char* ResultTypeOf(long verify_error, PeerAuth::Kind kind) {
  switch (verify_error) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
      return "certificate-host-mismatch";
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "certificate-expired";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
      // Under DANE the TLSA records are the trust anchors: no match is a
      // validation failure, not an untrusted CA.
      return kind == PeerAuth::Kind::kDane ? "validation-failure" : "certificate-not-trusted";
    default:
      return "validation-failure";
  }
}

}  // namespace

bool UsableForSmtp(const Tlsa& r) {
  if (r.usage != 2 && r.usage != 3) {
    return false;
  }
  if (r.selector > 1) {
    return false;
  }
  switch (r.mtype) {
    case 0:
      return !r.data.empty();
    case 1:
      return r.data.size() == 32;
    case 2:
      return r.data.size() == 64;
    default:
      return false;
  }
}

Result<std::shared_ptr<asio::ssl::context>, std::string> MakeClientContext(
    const ClientContextOptions& opts) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  // The verdict is read after the handshake (CheckPeer): opportunistic TLS
  // goes on with any certificate.
  SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
  if (opts.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(native) != 1) {
      return Fail(LastSslError("cannot load the system trust store"));
    }
  } else if (SSL_CTX_load_verify_locations(native, opts.ca_file.c_str(), nullptr) != 1) {
    return Fail(LastSslError("cannot load CA file " + opts.ca_file));
  }
  if (SSL_CTX_dane_enable(native) <= 0) {
    return Fail(LastSslError("cannot enable DANE"));
  }
  // RFC 7672 §3.1.1: a DANE-EE(3) match authenticates the key itself; the
  // certificate's names (and, RFC 7671 §5.1, its dates) do not matter.
  SSL_CTX_dane_set_flags(native, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
  return ctx;
}

Result<Ok, std::string> PrepareClient(SSL* ssl, const std::string& sni, const PeerAuth& auth) {
  if (!sni.empty() && sni.front() != '[' &&
      SSL_set_tlsext_host_name(ssl, const_cast<char*>(sni.c_str())) != 1) {
    return Fail(LastSslError("cannot set SNI " + sni));
  }
  if (auth.kind == PeerAuth::Kind::kNone) {
    return Ok{};
  }
  if (auth.kind == PeerAuth::Kind::kDane) {
    const char* base = auth.names.empty() ? nullptr : auth.names.front().c_str();
    if (SSL_dane_enable(ssl, base) <= 0) {
      return Fail(LastSslError("cannot enable DANE on the connection"));
    }
    int usable = 0;
    for (const auto& r : auth.tlsa) {
      int rc =
          SSL_dane_tlsa_add(ssl, r.usage, r.selector, r.mtype,
                            reinterpret_cast<const unsigned char*>(r.data.data()), r.data.size());
      if (rc < 0) {
        return Fail(LastSslError("cannot add a TLSA record"));
      }
      usable += rc > 0 ? 1 : 0;
    }
    if (usable == 0) {
      return Fail(std::string("no usable TLSA record"));
    }
    for (std::size_t i = 1; i < auth.names.size(); ++i) {
      SSL_add1_host(ssl, auth.names[i].c_str());
    }
    return Ok{};
  }
  // PKIX: RFC 6125 §6.4.3, a wildcard only as a whole left-most label.
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (auth.names.empty()) {
    return Fail(std::string("no name to check the certificate against"));
  }
  for (std::size_t i = 0; i < auth.names.size(); ++i) {
    int ok = i == 0 ? SSL_set1_host(ssl, auth.names[i].c_str())
                    : SSL_add1_host(ssl, auth.names[i].c_str());
    if (ok != 1) {
      return Fail(LastSslError("cannot set the reference name " + auth.names[i]));
    }
  }
  return Ok{};
}

std::optional<AuthFailure> CheckPeer(SSL* ssl, const PeerAuth& auth) {
  if (auth.kind == PeerAuth::Kind::kNone) {
    return std::nullopt;
  }
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) {
    return AuthFailure{"validation-failure", "the server presented no certificate"};
  }
  const long rc = SSL_get_verify_result(ssl);
  if (rc != X509_V_OK) {
    return AuthFailure{ResultTypeOf(rc, auth.kind), X509_verify_cert_error_string(rc)};
  }
  if (auth.kind == PeerAuth::Kind::kDane) {
    // Verified, and by a TLSA record (not by the trust store).
    if (SSL_get0_dane_authority(ssl, nullptr, nullptr) < 0) {
      return AuthFailure{"validation-failure", "no TLSA record matched"};
    }
  }
  return std::nullopt;
}

}  // namespace sluice::tls
