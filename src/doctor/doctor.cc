#include "doctor/doctor.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/ascii.h"
#include "core/network.h"
#include "core/time_format.h"
#include "dkim/key_store.h"
#include "doctor/dmarc.h"
#include "doctor/spf.h"
#include "doctor/transport.h"

namespace sluice::doctor {
namespace {

namespace asio = boost::asio;

std::string Ip4Or6(const std::string& ip) {
  return (ip.find(':') == std::string::npos ? "ip4:" : "ip6:") + ip;
}

asio::awaitable<void> CheckMx(dns::Resolver& r, const Options& o, std::vector<Check>& out) {
  auto mx = co_await r.ResolveMx(o.domain);
  Check c{"mx", Status::kPass, "", ""};
  if (mx && !mx->implicit) {
    std::string hosts;
    for (const auto& h : mx->hosts) {
      hosts += (hosts.empty() ? "" : ", ") + h.host;
    }
    c.detail = "MX: " + hosts;
  } else if (mx) {
    c.status = Status::kWarn;
    c.detail = "no MX record; mail to the domain goes to its A/AAAA address";
    c.fix = "publish an MX record so bounces and replies reach a mail server: " + o.domain +
            ". IN MX 10 <your inbound host>.";
  } else if (mx.error() == dns::DnsError::kNullMx) {
    c.status = Status::kWarn;
    c.detail = "null MX (RFC 7505): the domain accepts no mail";
    c.fix = "bounces and replies to " + o.domain +
            " will fail; use a return path on a domain that receives mail";
  } else {
    c.status = Status::kFail;
    c.detail = std::string("no mail exchanger: ") + dns::ToString(mx.error());
    c.inconclusive = !dns::IsPermanent(mx.error());
    c.fix = "publish an MX record: " + o.domain + ". IN MX 10 <your inbound host>.";
  }
  out.push_back(std::move(c));
}

asio::awaitable<void> CheckSpf(dns::Resolver& r, const Options& o, std::vector<Check>& out) {
  auto txt = co_await r.ResolveTxt(o.domain);
  std::string suggested = "v=spf1";
  for (const auto& ip : o.egress_ips) {
    suggested += " " + Ip4Or6(ip);
  }
  suggested += " -all";
  if (!txt && txt.error() != dns::DnsError::kNxDomain) {
    out.push_back({"spf", Status::kWarn,
                   std::string("TXT lookup failed: ") + dns::ToString(txt.error()),
                   "try again; check the domain's name servers", true});
    co_return;
  }
  SpfRecordPick pick = txt ? PickSpfRecord(txt.value()) : SpfRecordPick{};
  if (pick.record.empty()) {
    out.push_back({"spf", Status::kFail, "no SPF record",
                   "publish: " + o.domain + ". IN TXT \"" + suggested + "\""});
    co_return;
  }
  if (pick.multiple) {
    out.push_back({"spf", Status::kFail, "more than one SPF record (RFC 7208 §4.5: permerror)",
                   "merge them into one TXT record starting with v=spf1"});
    co_return;
  }
  std::string why;
  int lookups = co_await CountLookups(r, o.domain, &why);
  if (lookups < 0) {
    out.push_back({"spf", Status::kFail, "\"" + pick.record + "\": " + why,
                   "fix the record or the records it includes"});
    co_return;
  }
  if (lookups > 10) {
    out.push_back({"spf", Status::kFail,
                   fmt::format("\"{}\" needs {} DNS lookups; the limit is 10 (RFC 7208 §4.6.4)",
                               pick.record, lookups),
                   "replace include:, a and mx terms with ip4:/ip6: ranges, or flatten includes"});
    co_return;
  }
  out.push_back(
      {"spf", Status::kPass, fmt::format("\"{}\" ({} of 10 lookups)", pick.record, lookups), ""});
  if (o.egress_ips.empty()) {
    out.push_back({"spf egress", Status::kWarn, "no egress address configured to check",
                   "set [delivery] source_address, or pass --ip ADDRESS"});
  }
  for (const auto& ip : o.egress_ips) {
    SpfVerdict v = co_await CheckHost(r, ip, o.domain, "postmaster@" + o.domain);
    Check c{"spf " + ip, Status::kPass, std::string(ToString(v.result)) + ": " + v.reason, ""};
    if (v.result != SpfResult::kPass) {
      c.status = v.result == SpfResult::kTempError ? Status::kWarn : Status::kFail;
      c.inconclusive = v.result == SpfResult::kTempError;
      c.fix = "authorise it: add " + Ip4Or6(ip) + " to the SPF record before its \"all\"";
    }
    out.push_back(std::move(c));
  }
}

// "2026-12-20 (in 13 days)", "2026-12-07 (today)", "2026-12-01 (6 days ago)".
std::string When(std::chrono::system_clock::time_point t,
                 std::chrono::system_clock::time_point now) {
  const auto days = std::chrono::duration_cast<std::chrono::hours>(t - now).count() / 24;
  std::string when = Rfc3339Micros(t).substr(0, 10);
  if (days == 0) {
    return when + (t >= now ? " (within a day)" : " (within the last day)");
  }
  return days > 0 ? fmt::format("{} (in {} days)", when, days)
                  : fmt::format("{} ({} days ago)", when, -days);
}

// One selector's record, judged by where the key stands in its rotation: a
// retired key's record no longer matters; a next key's record must be out
// before its window opens (RFC 6376 §3.1: selectors exist for this), or the
// store keeps signing with the old key and the rotation silently stalls.
Check JudgeSelector(const Selector& s, const Result<std::vector<std::string>, dns::DnsError>& txt,
                    const Options& o) {
  std::string name = s.selector + "._domainkey." + s.signing_domain;
  std::string publish = "publish: " + name + ". IN TXT \"" + s.key.DnsRecord() + "\"";
  // Two keys may share a selector under different signing domains.
  Check c{"dkim " + s.selector + (s.signing_domain == o.domain ? "" : " d=" + s.signing_domain),
          Status::kPass, "", ""};
  if (s.valid_until && *s.valid_until <= o.now) {
    c.status = Status::kInfo;
    c.detail = name + ": retired " + When(*s.valid_until, o.now) + "; its record may be removed";
    return c;
  }
  const bool next = s.valid_from && *s.valid_from > o.now;
  const std::string role = next ? "next key, signs from " + When(*s.valid_from, o.now) : "";
  std::string why;
  if (!txt && txt.error() != dns::DnsError::kNxDomain) {
    c.status = Status::kWarn;
    c.detail = name + ": lookup failed: " + dns::ToString(txt.error());
    c.fix = "try again";
    c.inconclusive = true;
    return c;
  }
  bool published = txt && !txt->empty() &&
                   dkim::MatchPublished(s.key, txt.value(), &why) == dkim::Published::kYes;
  if (published) {
    c.detail = fmt::format("{}: {} key published and matches the configured key{}", name,
                           dkim::KeyType(s.key.algorithm()), next ? " (" + role + ")" : "");
    return c;
  }
  std::string found = !txt || txt->empty() ? "no key record published" : why;
  if (!next) {
    c.status = Status::kFail;
    c.detail = name + ": " + found;
    c.fix = txt && !txt->empty() ? "replace the record; " + publish : publish;
    return c;
  }
  // A next key: a failure once its turn is near, a warning before.
  c.status = *s.valid_from - o.now <= o.rotation_notice ? Status::kFail : Status::kWarn;
  c.detail = name + ": " + found + " (" + role + "; until it is, the current key goes on signing)";
  c.fix = publish + " before " + Rfc3339Micros(*s.valid_from).substr(0, 10);
  return c;
}

asio::awaitable<void> CheckDkim(dns::Resolver& r, const Options& o, std::vector<Check>& out) {
  if (o.selectors.empty()) {
    out.push_back({"dkim", Status::kWarn, "no DKIM key is configured for " + o.domain,
                   "sluice dkim keygen --domain " + o.domain +
                       " --selector s1 --algorithm ed25519 (and an rsa2048 key too), then add "
                       "[[dkim.domain]] to the configuration"});
    co_return;
  }
  for (const auto& s : o.selectors) {
    auto txt = co_await r.ResolveTxt(s.selector + "._domainkey." + s.signing_domain);
    out.push_back(JudgeSelector(s, txt, o));
  }
}

asio::awaitable<void> CheckDmarc(dns::Resolver& r, const Options& o, std::vector<Check>& out) {
  std::string where = "_dmarc." + o.domain;
  auto txt = co_await r.ResolveTxt(where);
  if (!txt && !dns::IsPermanent(txt.error())) {
    out.push_back({"dmarc", Status::kWarn,
                   "TXT lookup at " + where + " failed: " + dns::ToString(txt.error()),
                   "try again; check the domain's name servers", true});
    co_return;
  }
  std::vector<std::string> found = txt ? DmarcCandidates(txt.value()) : std::vector<std::string>{};
  std::string inherited;
  if (found.empty()) {
    // §6.6.3: the organizational domain's record covers its subdomains.
    auto dot = o.domain.find('.');
    std::string org = o.domain.substr(dot + 1);
    if (dot != std::string::npos && org.find('.') != std::string::npos) {
      auto parent = co_await r.ResolveTxt("_dmarc." + org);
      if (!parent && !dns::IsPermanent(parent.error())) {
        out.push_back({"dmarc", Status::kWarn,
                       "TXT lookup at _dmarc." + org + " failed: " + dns::ToString(parent.error()),
                       "try again; check the domain's name servers", true});
        co_return;
      }
      if (parent) {
        found = DmarcCandidates(parent.value());
        if (!found.empty()) {
          inherited = org;
          where = "_dmarc." + org;
        }
      }
    }
  }
  if (found.empty()) {
    out.push_back({"dmarc", Status::kFail, "no DMARC record at _dmarc." + o.domain,
                   "publish: _dmarc." + o.domain +
                       ". IN TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@" + o.domain +
                       "\" (then move to p=quarantine or p=reject)"});
    co_return;
  }
  if (found.size() > 1) {
    out.push_back(
        {"dmarc", Status::kFail, "more than one DMARC record at " + where, "keep exactly one"});
    co_return;
  }
  std::string why;
  auto rec = ParseDmarc(found[0], &why);
  if (!rec) {
    out.push_back(
        {"dmarc", Status::kFail, "\"" + found[0] + "\": " + why, "fix the record at " + where});
    co_return;
  }
  std::string policy = inherited.empty() ? rec->policy : rec->subdomain_policy;
  std::string detail =
      fmt::format("policy {}{}{}", policy, rec->pct != 100 ? fmt::format(" for {}%", rec->pct) : "",
                  inherited.empty() ? "" : " (from " + inherited + ")");
  if (rec->rua.empty()) {
    out.push_back({"dmarc", Status::kWarn, detail + "; no rua= for aggregate reports",
                   "add rua=mailto:<address> to see who sends as " + o.domain});
  } else {
    out.push_back({"dmarc", Status::kPass, detail, ""});
  }
}

asio::awaitable<void> CheckPtr(dns::Resolver& r, const Options& o, std::vector<Check>& out) {
  for (const auto& ip : o.egress_ips) {
    auto own = o.ehlo_by_ip.find(ip);
    const std::string& ehlo = own != o.ehlo_by_ip.end() ? own->second : o.ehlo_name;
    Check c{"ptr " + ip, Status::kPass, "", ""};
    auto names = co_await r.ResolvePtr(ip);
    if (!names && !dns::IsPermanent(names.error())) {
      c.status = Status::kWarn;
      c.detail = std::string("PTR lookup failed: ") + dns::ToString(names.error());
      c.fix = "try again";
      c.inconclusive = true;
      out.push_back(std::move(c));
      continue;
    }
    if (!names || names->empty()) {
      c.status = Status::kFail;
      c.detail = "no PTR record";
      c.fix = "ask the address's owner to set its PTR to " + ehlo;
      out.push_back(std::move(c));
      continue;
    }
    std::string confirmed;
    bool unsure = false;  // a forward lookup failed for a transient reason
    for (const auto& n : names.value()) {
      auto addrs = co_await r.ResolveAddresses(n);
      unsure |= !addrs && !dns::IsPermanent(addrs.error());
      if (addrs && std::any_of(addrs->begin(), addrs->end(), [&](const std::string& a) {
            auto x = IpAddress::Parse(a);
            auto y = IpAddress::Parse(ip);
            return x && y && x->bytes() == y->bytes();
          })) {
        confirmed = n;
        break;
      }
    }
    if (confirmed.empty() && unsure) {
      c.status = Status::kWarn;
      c.detail = "PTR " + names->front() + ": its address lookup failed";
      c.fix = "try again";
      c.inconclusive = true;
    } else if (confirmed.empty()) {
      c.status = Status::kFail;
      c.detail = "PTR " + names->front() + " does not resolve back to " + ip;
      c.fix = "publish: " + names->front() + ". IN " +
              (ip.find(':') == std::string::npos ? "A" : "AAAA") + " " + ip;
    } else if (AsciiLower(confirmed) != AsciiLower(ehlo)) {
      c.status = Status::kFail;
      c.detail = "PTR " + confirmed + " (confirmed) differs from the EHLO name " + ehlo;
      c.fix = "set [delivery] ehlo_name = \"" + confirmed + "\", or change the PTR to " + ehlo;
    } else {
      c.detail = "PTR " + confirmed + " resolves back to " + ip + " and matches EHLO";
    }
    out.push_back(std::move(c));
  }
}

}  // namespace

const char* ToString(Status s) {
  switch (s) {
    case Status::kPass:
      return "pass";
    case Status::kWarn:
      return "warn";
    case Status::kFail:
      return "FAIL";
    case Status::kInfo:
      return "info";
  }
  return "info";
}

const char* StatusName(Status s) {
  return s == Status::kFail ? "fail" : ToString(s);
}

asio::awaitable<std::vector<Check>> Run(dns::Resolver& resolver, Options opts) {
  std::vector<Check> out;
  co_await CheckMx(resolver, opts, out);
  co_await CheckSpf(resolver, opts, out);
  co_await CheckDkim(resolver, opts, out);
  co_await CheckDmarc(resolver, opts, out);
  co_await CheckPtr(resolver, opts, out);
  co_await CheckTransport(resolver, opts.sts_fetcher, opts.domain, opts.smtp_port, out);
  co_return out;
}

std::string Format(const std::vector<Check>& checks) {
  std::size_t width = 5;
  for (const auto& c : checks) {
    width = std::max(width, c.name.size());
  }
  std::string out = fmt::format("{:<{}}  {:<6}  {}\n", "CHECK", width, "RESULT", "DETAIL");
  for (const auto& c : checks) {
    out += fmt::format("{:<{}}  {:<6}  {}\n", c.name, width, ToString(c.status), c.detail);
    if (!c.fix.empty()) {
      out += fmt::format("{:<{}}  {:<6}  fix: {}\n", "", width, "", c.fix);
    }
  }
  return out;
}

bool AnyFailed(const std::vector<Check>& checks) {
  return std::any_of(checks.begin(), checks.end(),
                     [](const Check& c) { return c.status == Status::kFail; });
}

}  // namespace sluice::doctor
