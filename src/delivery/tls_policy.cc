#include "delivery/tls_policy.h"

namespace sluice::delivery {

namespace {

bool IsLiteral(const std::string& host) {
  return !host.empty() && host.front() == '[';
}

HostRefused Refuse(const std::string& host, std::string text, std::string result_type,
                   std::string policy) {
  // RFC 3463 §3.8: X.7.5, a cryptographic failure (no usable security).
  return {smtp::Reply{451, "4.7.5", host + ": " + text}, std::move(result_type), std::move(policy)};
}

}  // namespace

bool WantsTlsa(shaping::Tls configured, bool dane_enabled, const std::string& host) {
  if (IsLiteral(host) || host.empty()) {
    return false;  // no name, no TLSA records
  }
  return dane_enabled || configured == shaping::Tls::kDane;
}

Result<HostTls, HostRefused> DecideHostTls(shaping::Tls configured, const std::string& host,
                                           const Result<dns::TlsaSet, dns::DnsError>* tlsa) {
  if (tlsa != nullptr) {
    if (!*tlsa) {
      // RFC 7672 §2.2: a TLSA lookup that fails (bogus, SERVFAIL) leaves the
      // host unusable: it may be an attacker's doing.
      const bool bogus = tlsa->error() == dns::DnsError::kBogus;
      return Fail(Refuse(host, std::string("TLSA lookup failed: ") + dns::ToString(tlsa->error()),
                         bogus ? "dnssec-invalid" : "tlsa-invalid", "dane"));
    }
    const dns::TlsaSet& set = tlsa->value();
    if (set.secure && !set.records.empty()) {
      HostTls out;
      out.tls = smtp::TlsPolicy::kRequired;
      out.policy = "dane";
      for (const auto& r : set.records) {
        tls::Tlsa t{r.usage, r.selector, r.mtype, r.data};
        if (tls::UsableForSmtp(t)) {
          out.auth.tlsa.push_back(std::move(t));
        }
      }
      if (!out.auth.tlsa.empty()) {
        out.auth.kind = tls::PeerAuth::Kind::kDane;
        out.auth.names = {host};
      } else if (configured == shaping::Tls::kDane) {
        return Fail(Refuse(host, "no usable TLSA record", "tlsa-invalid", "dane"));
      }
      // RFC 7672 §2.2: secure but unusable records: TLS still mandatory.
      return out;
    }
  }
  HostTls out;
  out.policy = shaping::ToString(configured);
  switch (configured) {
    case shaping::Tls::kDisabled:
      out.tls = smtp::TlsPolicy::kDisabled;
      break;
    case shaping::Tls::kOpportunistic:
      out.tls = smtp::TlsPolicy::kOpportunistic;
      break;
    case shaping::Tls::kRequired:
      out.tls = smtp::TlsPolicy::kRequired;
      break;
    case shaping::Tls::kDane:
      return Fail(Refuse(host, "no DNSSEC-signed TLSA records, and DANE is required",
                         "dane-required", "dane"));
    case shaping::Tls::kVerify:
    case shaping::Tls::kMtaSts:
      // MTA-STS without a policy for the domain verifies as `verify` does;
      // the route's policy decides which hosts may be used at all.
      out.tls = smtp::TlsPolicy::kRequired;
      out.auth.kind = tls::PeerAuth::Kind::kPkix;
      if (!IsLiteral(host)) {
        out.auth.names = {host};
      }
      break;
  }
  return out;
}

}  // namespace sluice::delivery
