#pragma once
// Security: decides whether a remote TLS server is who delivery meant to reach.
// Standards: RFC 6125 (reference identifiers; no partial wildcards), RFC 5280
//            (chain validation against a trust store), RFC 6698 and RFC 7671
//            (TLSA matching), RFC 7672 §3 (DANE for SMTP: DANE-TA(2) and
//            DANE-EE(3) only, no name check for DANE-EE), RFC 8460 §4.3 (the
//            result types a failure is reported under).
//
// The client side of TLS authentication: a client context holding the trust
// store (the system's, or a configured CA file) with OpenSSL's DANE support
// on; what one connection expects of its peer (PeerAuth), set on the SSL
// object before the handshake; and the verdict read after it. The handshake
// itself never aborts on a bad certificate: the caller decides from the
// verdict whether to go on (opportunistic, or an MTA-STS policy in testing
// mode) or to hang up.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "core/result.h"

using SSL = struct ssl_st;

namespace sluice::tls {

// One TLSA record (RFC 6698 §2.1): certificate usage, selector, matching type
// and the association data (raw octets).
struct Tlsa {
  std::uint8_t usage = 0;
  std::uint8_t selector = 0;
  std::uint8_t mtype = 0;
  std::string data;
};
// RFC 7672 §3.1: an SMTP client uses DANE-TA(2) and DANE-EE(3) records with a
// known selector (0, 1) and matching type (0, 1, 2) whose digest is the right
// length; PKIX-TA(0) and PKIX-EE(1) records are unusable.
bool UsableForSmtp(const Tlsa& r);

// What one connection expects of its peer.
struct PeerAuth {
  enum class Kind : std::uint8_t {
    kNone,  // encryption only: any certificate
    kPkix,  // a chain to the trust store, naming one of `names`
    kDane,  // matching one of `tlsa` (DANE-TA: and naming one of `names`)
  };
  Kind kind = Kind::kNone;
  std::vector<std::string> names;  // reference identifiers: DNS names
  std::vector<Tlsa> tlsa;          // kDane: the usable records
};

struct ClientContextOptions {
  std::string ca_file;  // PEM trust anchors; empty: the system's trust store
};
// A client context: TLS 1.2 at least, the trust store loaded, DANE enabled,
// no verification failure fatal during the handshake.
Result<std::shared_ptr<boost::asio::ssl::context>, std::string> MakeClientContext(
    const ClientContextOptions& opts);

// Sets SNI (`sni`, when a name) and the expectations of `auth` on `ssl`,
// before the handshake.
Result<Ok, std::string> PrepareClient(SSL* ssl, const std::string& sni, const PeerAuth& auth);

// Why a peer was not authenticated.
struct AuthFailure {
  std::string result_type;  // RFC 8460 §4.3: "certificate-expired", "validation-failure", ...
  std::string detail;       // for people: OpenSSL's reason
};
// After the handshake: nullopt when the peer met `auth` (always, for kNone).
std::optional<AuthFailure> CheckPeer(SSL* ssl, const PeerAuth& auth);

}  // namespace sluice::tls
