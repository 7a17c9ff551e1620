#include "doctor/transport.h"

#include <fmt/format.h>

#include "core/ascii.h"
#include "mtasts/policy.h"
#include "tls/peer.h"
#include "tlsrpt/record.h"

namespace sluice::doctor {

namespace asio = boost::asio;

namespace {

// A lookup that may well answer next time: says nothing of the record.
bool Transient(dns::DnsError e) {
  return e == dns::DnsError::kServFail || e == dns::DnsError::kTimeout;
}

std::string Hex(std::string_view data, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < data.size() && i < max; ++i) {
    out += fmt::format("{:02x}", static_cast<unsigned char>(data[i]));
  }
  return data.size() > max ? out + "..." : out;
}

asio::awaitable<void> CheckSts(dns::Resolver& r, mtasts::Fetcher* fetcher,
                               const std::string& domain, const std::vector<std::string>& mx,
                               std::vector<Check>& out) {
  auto txt = co_await r.ResolveTxt("_mta-sts." + domain);
  if (!txt && Transient(txt.error())) {
    out.push_back({"mta-sts", Status::kWarn,
                   std::string("_mta-sts lookup failed: ") + dns::ToString(txt.error()),
                   "try again", true});
    co_return;
  }
  auto record = txt ? mtasts::PickRecord(*txt) : Fail(std::string());
  if (!record) {
    if (record.error().empty()) {
      out.push_back({"mta-sts", Status::kInfo,
                     "no MTA-STS record (optional: it makes senders insist on TLS with a valid "
                     "certificate)",
                     ""});
    } else {
      out.push_back({"mta-sts", Status::kFail, "_mta-sts." + domain + ": " + record.error(),
                     "publish one record: _mta-sts." + domain +
                         ". IN TXT \"v=STSv1; id=<letters and digits>\""});
    }
    co_return;
  }
  if (fetcher == nullptr) {
    out.push_back({"mta-sts", Status::kInfo, "record id " + record->id, ""});
    co_return;
  }
  auto text = co_await fetcher->Fetch(domain);
  if (!text) {
    out.push_back({"mta-sts", Status::kFail,
                   "record id " + record->id + ", but the policy cannot be fetched (" +
                       text.error().result_type + "): " + text.error().detail,
                   "serve https://mta-sts." + domain +
                       "/.well-known/mta-sts.txt (text/plain, no redirect) with a certificate "
                       "valid for mta-sts." +
                       domain});
    co_return;
  }
  auto policy = mtasts::ParsePolicy(*text);
  if (!policy) {
    out.push_back({"mta-sts", Status::kFail, "the policy is not valid: " + policy.error(),
                   "see RFC 8461 §3.2: version, mode, mx and max_age lines"});
    co_return;
  }
  std::string patterns;
  for (const auto& p : policy->mx) {
    patterns += (patterns.empty() ? "" : ", ") + p;
  }
  Check c{
      "mta-sts", Status::kPass,
      fmt::format("id {}, mode {}, max_age {}, mx: {}", record->id, mtasts::ToString(policy->mode),
                  policy->max_age, patterns.empty() ? "-" : patterns),
      ""};
  std::string unmatched;
  for (const auto& h : mx) {
    if (!policy->Matches(h)) {
      unmatched += (unmatched.empty() ? "" : ", ") + h;
    }
  }
  if (!unmatched.empty() && policy->mode != mtasts::Mode::kNone) {
    c.status = policy->mode == mtasts::Mode::kEnforce ? Status::kFail : Status::kWarn;
    c.detail += "; MX hosts the policy does not name: " + unmatched;
    c.fix = "add mx: lines for them, or senders " +
            std::string(policy->mode == mtasts::Mode::kEnforce ? "will not deliver to them"
                                                               : "report failures");
  }
  out.push_back(std::move(c));
}

asio::awaitable<void> CheckTlsa(dns::Resolver& r, const std::string& host, std::uint16_t port,
                                std::vector<Check>& out) {
  auto set = co_await r.ResolveTlsa(host, port);
  const std::string name = "tlsa " + host;
  if (!set) {
    out.push_back({name, Status::kFail,
                   std::string("the TLSA lookup failed: ") + dns::ToString(set.error()),
                   "DANE senders will not deliver to this host until its TLSA records validate",
                   Transient(set.error())});
    co_return;
  }
  if (set->records.empty()) {
    out.push_back({name, Status::kInfo,
                   set->secure ? "DNSSEC-signed, no TLSA records (no DANE)"
                               : "no DNSSEC-validated TLSA records (no DANE)",
                   ""});
    co_return;
  }
  std::string shown;
  int usable = 0;
  for (const auto& rec : set->records) {
    const bool ok = tls::UsableForSmtp({rec.usage, rec.selector, rec.mtype, rec.data});
    usable += ok ? 1 : 0;
    shown += fmt::format("{}{} {} {} {}{}", shown.empty() ? "" : "; ", rec.usage, rec.selector,
                         rec.mtype, Hex(rec.data, 8), ok ? "" : " (unusable)");
  }
  if (usable == 0) {
    out.push_back({name, Status::kFail, "_" + std::to_string(port) + "._tcp." + host + ": " + shown,
                   "publish DANE-EE (3 1 1) or DANE-TA (2 1 1) records: PKIX usages are not "
                   "used for SMTP (RFC 7672 §3.1.3)"});
    co_return;
  }
  out.push_back({name, Status::kPass, shown, ""});
}

asio::awaitable<void> CheckTlsRpt(dns::Resolver& r, const std::string& domain,
                                  std::vector<Check>& out) {
  auto txt = co_await r.ResolveTxt("_smtp._tls." + domain);
  if (!txt && Transient(txt.error())) {
    out.push_back({"tls-rpt", Status::kWarn,
                   std::string("_smtp._tls lookup failed: ") + dns::ToString(txt.error()),
                   "try again", true});
    co_return;
  }
  const std::vector<std::string> found = txt ? tlsrpt::RecordsIn(*txt) : std::vector<std::string>{};
  if (found.empty()) {
    out.push_back({"tls-rpt", Status::kInfo,
                   "no TLS-RPT record (optional: senders would report TLS failures to it)", ""});
    co_return;
  }
  if (found.size() > 1) {
    out.push_back({"tls-rpt", Status::kFail, "more than one v=TLSRPTv1 record",
                   "keep one record at _smtp._tls." + domain});
    co_return;
  }
  auto rua = tlsrpt::ParseRecord(found.front());
  if (!rua) {
    out.push_back(
        {"tls-rpt", Status::kFail, rua.error(),
         "_smtp._tls." + domain + ". IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@" + domain + "\""});
    co_return;
  }
  std::string list;
  for (const auto& u : *rua) {
    list += (list.empty() ? "" : ", ") + u;
  }
  out.push_back({"tls-rpt", Status::kPass, "reports to " + list, ""});
}

}  // namespace

asio::awaitable<void> CheckTransport(dns::Resolver& r, mtasts::Fetcher* fetcher, std::string domain,
                                     std::uint16_t smtp_port, std::vector<Check>& out) {
  std::vector<std::string> mx;
  if (auto set = co_await r.ResolveMx(domain)) {
    for (const auto& h : set->hosts) {
      mx.push_back(h.host);
    }
  }
  co_await CheckSts(r, fetcher, domain, mx, out);
  for (const auto& h : mx) {
    co_await CheckTlsa(r, h, smtp_port, out);
  }
  co_await CheckTlsRpt(r, domain, out);
}

}  // namespace sluice::doctor
