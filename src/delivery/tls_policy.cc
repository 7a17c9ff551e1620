#include "delivery/tls_policy.h"

#include <fmt/format.h>

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

shaping::Tls TlsForPath(shaping::Tls configured, bool tls_optional) {
  if (tls_optional && (configured == shaping::Tls::kDane || configured == shaping::Tls::kMtaSts)) {
    return shaping::Tls::kOpportunistic;
  }
  return configured;
}

bool WantsTlsa(shaping::Tls configured, bool dane_enabled, const std::string& host) {
  if (IsLiteral(host) || host.empty()) {
    return false;  // no name, no TLSA records
  }
  return dane_enabled || configured == shaping::Tls::kDane;
}

Result<HostTls, HostRefused> DecideHostTls(shaping::Tls configured, const std::string& host,
                                           const Result<dns::TlsaSet, dns::DnsError>* tlsa,
                                           const mtasts::Policy* sts) {
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
  const bool enforce = sts != nullptr && sts->mode == mtasts::Mode::kEnforce;
  const bool testing = sts != nullptr && sts->mode == mtasts::Mode::kTesting;
  if (enforce) {
    // RFC 8461 §4.2: only a named host, over TLS, with a valid certificate.
    if (!sts->Matches(host)) {
      return Fail(Refuse(host, "not an MX host of the domain's MTA-STS policy",
                         "validation-failure", "mta-sts"));
    }
    HostTls out;
    out.tls = smtp::TlsPolicy::kRequired;
    out.auth = {tls::PeerAuth::Kind::kPkix, {host}, {}};
    out.policy = "mta-sts";
    return out;
  }
  if (configured == shaping::Tls::kMtaSts && !testing) {
    return Fail(Refuse(host, "the domain publishes no MTA-STS policy, and one is required",
                       "sts-policy-fetch-error", "mta-sts"));
  }
  HostTls out;
  out.policy = shaping::ToString(configured);
  if (testing && configured <= shaping::Tls::kRequired) {
    // RFC 8461 §5: testing mode checks and reports, and delivers regardless.
    out.tls = configured == shaping::Tls::kRequired ? smtp::TlsPolicy::kRequired
                                                    : smtp::TlsPolicy::kOpportunistic;
    out.auth = {tls::PeerAuth::Kind::kPkix, {host}, {}};
    out.enforced = false;
    out.policy = "mta-sts-testing";
    return out;
  }
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
    case shaping::Tls::kMtaSts:  // with a testing policy: verified, and enforced
      out.tls = smtp::TlsPolicy::kRequired;
      out.auth.kind = tls::PeerAuth::Kind::kPkix;
      if (!IsLiteral(host)) {
        out.auth.names = {host};
      }
      break;
  }
  return out;
}

tlsrpt::Policy ReportedPolicy(const std::string& policy, const std::string& host,
                              const Result<dns::TlsaSet, dns::DnsError>* tlsa,
                              const mtasts::Policy* sts) {
  tlsrpt::Policy out;
  if (policy == "dane") {
    out.type = "tlsa";
    out.mx_hosts = {host};
    if (tlsa != nullptr && *tlsa) {
      // RFC 8460 §4.3.1.2: the records in presentation form.
      for (const auto& r : (*tlsa)->records) {
        std::string hex;
        for (unsigned char c : r.data) {
          hex += fmt::format("{:02x}", c);
        }
        out.strings.push_back(fmt::format("{} {} {} {}", r.usage, r.selector, r.mtype, hex));
      }
    }
  } else if ((policy == "mta-sts" || policy == "mta-sts-testing") && sts != nullptr) {
    out.type = "sts";
    // RFC 8460 §4.3.1.2: the policy's lines.
    out.strings = {"version: STSv1",
                   sts->mode == mtasts::Mode::kEnforce ? "mode: enforce" : "mode: testing"};
    for (const auto& mx : sts->mx) {
      out.strings.push_back("mx: " + mx);
    }
    out.strings.push_back("max_age: " + std::to_string(sts->max_age));
    out.mx_hosts = sts->mx;
  }
  return out;
}

}  // namespace sluice::delivery
