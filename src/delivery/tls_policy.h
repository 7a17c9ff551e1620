#pragma once
// Security: decides, per MX host, whether mail may go in cleartext, over any
//           TLS, or only to a server that proves who it is; a network
//           attacker's stripped STARTTLS or substituted certificate must
//           never win over a policy the receiver published.
// Standards: RFC 7672 §2.2 (DANE: secure usable TLSA records make TLS
//            mandatory and authenticated; a bogus or failed lookup makes the
//            host unusable; insecure or absent records change nothing; secure
//            but unusable records still make TLS mandatory), RFC 3207
//            (STARTTLS), RFC 8460 §4.3 (result types of policy failures).
//
// The strongest policy that applies wins: the path's configured `tls`
// (shaping) and what the destination publishes. The decision is pure: the
// dispatcher looks the TLSA records up and hands them in.

#include <string>
#include <variant>

#include "core/result.h"
#include "dns/resolver.h"
#include "mtasts/policy.h"
#include "shaping/rules.h"
#include "smtp/client/client.h"
#include "smtp/proto/reply.h"
#include "tlsrpt/ledger.h"

namespace sluice::delivery {

// How one connection to one host goes, and the name it is reported under.
struct HostTls {
  smtp::TlsPolicy tls = smtp::TlsPolicy::kOpportunistic;
  tls::PeerAuth auth;
  bool enforced = true;
  std::string policy = "opportunistic";  // events and metrics: "dane", "verify", ...
};

// Why a host may not be used now: the deferral reply and its RFC 8460 result type.
struct HostRefused {
  smtp::Reply reply;
  std::string result_type;
  std::string policy;
};

// The configured mode for mail that says "TLS-Required: No" (RFC 8689 §5):
// modes that exist to honour receivers' policies become opportunistic.
shaping::Tls TlsForPath(shaping::Tls configured, bool tls_optional);

// Whether DANE applies to a host: look its TLSA records up at all.
bool WantsTlsa(shaping::Tls configured, bool dane_enabled, const std::string& host);

// The policy for `host` (a name, or "[address literal]") under the
// configured mode; `tlsa` is the lookup's outcome when WantsTlsa() said so
// (else null); `sts` the domain's MTA-STS policy in enforce or testing mode
// (else null).
Result<HostTls, HostRefused> DecideHostTls(shaping::Tls configured, const std::string& host,
                                           const Result<dns::TlsaSet, dns::DnsError>* tlsa,
                                           const mtasts::Policy* sts = nullptr);

// What sessions under `policy` (HostTls::policy) to `host` are reported as
// (RFC 8460 §4.3.1): the TLSA records or the MTA-STS policy that applied, or
// "no-policy-found" for policies the receiver did not publish.
tlsrpt::Policy ReportedPolicy(const std::string& policy, const std::string& host,
                              const Result<dns::TlsaSet, dns::DnsError>* tlsa,
                              const mtasts::Policy* sts);

}  // namespace sluice::delivery
