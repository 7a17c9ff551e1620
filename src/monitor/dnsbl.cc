#include "monitor/dnsbl.h"

#include <algorithm>

#include "core/ascii.h"
#include "core/network.h"
#include "dns/resolver.h"

namespace sluice::monitor {
namespace {

using std::chrono::minutes;

// Spamhaus answers these instead of a listing when it will not answer the
// query (its usage terms: no public resolvers, a daily volume cap).
std::map<std::string, std::string> SpamhausErrors() {
  return {{"127.255.255.252", "query refused: the list's name is mistyped"},
          {"127.255.255.254",
           "query refused: asked through a public or open resolver (use your own resolver, or "
           "a Spamhaus DQS key as a custom list)"},
          {"127.255.255.255", "query refused: too many queries from this resolver"}};
}

// A public list: asked at most every 15 minutes, never about private
// addresses, reporting only (take_out_of_pools is the operator's choice).
Blocklist Public(std::string name, std::string zone, ListKind kind,
                 std::map<std::string, std::string> codes, std::map<std::uint8_t, std::string> bits,
                 std::map<std::string, std::string> errors) {
  Blocklist l;
  l.name = std::move(name);
  l.zone = std::move(zone);
  l.kind = kind;
  l.codes = std::move(codes);
  l.bits = std::move(bits);
  l.errors = std::move(errors);
  l.min_interval = minutes(15);
  l.public_addresses_only = true;
  return l;
}

std::vector<Blocklist> MakeBuiltins() {
  const std::string xbl = "XBL: an exploited or infected host";
  const std::string pbl = "an address not meant to send mail directly";
  auto dbl_errors = SpamhausErrors();
  dbl_errors["127.0.1.255"] = "query refused: the DBL takes domains, not addresses";
  const std::map<std::string, std::string> blocked = {
      {"127.0.0.1",
       "query refused: this resolver is blocked (too many queries, or a public "
       "resolver)"}};
  return {
      Public("spamhaus-zen", "zen.spamhaus.org", ListKind::kIp,
             {{"127.0.0.2", "SBL: a known spam source or spam operation"},
              {"127.0.0.3", "SBL CSS: snowshoe spam or compromised sending"},
              {"127.0.0.4", xbl},
              {"127.0.0.5", xbl},
              {"127.0.0.6", xbl},
              {"127.0.0.7", xbl},
              {"127.0.0.9", "SBL DROP: a hijacked or spammer-controlled network"},
              {"127.0.0.10", "PBL (ISP): " + pbl},
              {"127.0.0.11", "PBL (Spamhaus): " + pbl}},
             {}, SpamhausErrors()),
      Public("spamcop", "bl.spamcop.net", ListKind::kIp,
             {{"127.0.0.2", "reported by SpamCop users as a spam source"}}, {}, {}),
      Public("barracuda", "b.barracudacentral.org", ListKind::kIp,
             {{"127.0.0.2", "Barracuda reputation: poor (a spam source)"}}, {}, {}),
      Public("spamhaus-dbl", "dbl.spamhaus.org", ListKind::kDomain,
             {{"127.0.1.2", "DBL: a spam domain"},
              {"127.0.1.4", "DBL: a phishing domain"},
              {"127.0.1.5", "DBL: a malware domain"},
              {"127.0.1.6", "DBL: a botnet command and control domain"},
              {"127.0.1.102", "DBL: an abused legitimate domain (spam)"},
              {"127.0.1.103", "DBL: an abused redirector or URL shortener"},
              {"127.0.1.104", "DBL: an abused legitimate domain (phishing)"},
              {"127.0.1.105", "DBL: an abused legitimate domain (malware)"},
              {"127.0.1.106", "DBL: an abused legitimate domain (botnet C&C)"}},
             {}, dbl_errors),
      Public("surbl", "multi.surbl.org", ListKind::kDomain, {},
             {{8, "SURBL PH: phishing"},
              {16, "SURBL MW: malware"},
              {64, "SURBL ABUSE: spam and abuse"},
              {128, "SURBL CR: cracked sites"}},
             blocked),
      Public("uribl", "multi.uribl.com", ListKind::kDomain, {},
             {{2, "URIBL black: seen in spam"},
              {4, "URIBL grey: seen in bulk mail that is not all spam"},
              {8, "URIBL red: seen in spam, newly registered"}},
             blocked),
  };
}

bool InRange(const IpAddress& ip, const char* net) {
  return Network::Parse(net)->Contains(ip);
}

}  // namespace

const char* ToString(ListKind k) {
  return k == ListKind::kIp ? "ip" : "domain";
}

const std::vector<Blocklist>& BuiltinBlocklists() {
  static const std::vector<Blocklist> kLists = MakeBuiltins();
  return kLists;
}

const Blocklist* FindBuiltin(std::string_view name) {
  for (const auto& l : BuiltinBlocklists()) {
    if (l.name == name) {
      return &l;
    }
  }
  return nullptr;
}

std::optional<std::string> QueryName(const Blocklist& list, const std::string& subject) {
  const auto ip = IpAddress::Parse(subject);
  if (list.kind == ListKind::kIp) {
    if (!ip) {
      return std::nullopt;
    }
    // RFC 5782 §2.1 (IPv4 octets reversed), §2.4 (IPv6 nibbles reversed).
    std::string reversed = dns::ReverseName(ip->ToString()).value_or("");
    for (const char* suffix : {".in-addr.arpa", ".ip6.arpa"}) {
      const std::string_view s(suffix);
      if (reversed.size() > s.size() && reversed.ends_with(s)) {
        return reversed.substr(0, reversed.size() - s.size()) + "." + list.zone;
      }
    }
    return std::nullopt;
  }
  if (ip || subject.empty() || subject.front() == '[') {
    return std::nullopt;
  }
  return AsciiLower(subject) + "." + list.zone;
}

Verdict Decode(const Blocklist& list, const std::vector<std::string>& answers) {
  Verdict v;
  std::vector<std::string> meanings;
  for (const auto& a : answers) {
    auto ip = IpAddress::Parse(a);
    if (!ip || !InRange(*ip, "127.0.0.0/8")) {
      // Not a list's answer: a resolver rewriting NXDOMAIN, or a list gone
      // wild-card (RFC 5782 §2.1 keeps answers in 127.0.0.0/8).
      return {Verdict::State::kError, {a}, "an answer outside 127.0.0.0/8: " + a};
    }
    const std::string code = ip->ToString();
    if (auto e = list.errors.find(code); e != list.errors.end()) {
      return {Verdict::State::kError, {code}, e->second};
    }
    v.codes.push_back(code);
    if (auto c = list.codes.find(code); c != list.codes.end()) {
      meanings.push_back(c->second);
    } else if (!list.bits.empty()) {
      const std::uint8_t last = ip->bytes()[15];
      for (const auto& [bit, meaning] : list.bits) {
        if ((last & bit) != 0) {
          meanings.push_back(meaning);
        }
      }
    }
  }
  if (v.codes.empty()) {
    return v;
  }
  std::sort(v.codes.begin(), v.codes.end());
  v.codes.erase(std::unique(v.codes.begin(), v.codes.end()), v.codes.end());
  v.state = Verdict::State::kListed;
  if (meanings.empty()) {
    meanings.push_back("listed (" + v.codes.front() + ")");
  }
  for (const auto& m : meanings) {
    if (v.meaning.find(m) == std::string::npos) {
      v.meaning += (v.meaning.empty() ? "" : "; ") + m;
    }
  }
  return v;
}

bool IsPublicAddress(const std::string& text) {
  auto ip = IpAddress::Parse(text);
  if (!ip) {
    return false;
  }
  for (const char* net :
       {"127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
        "100.64.0.0/10", "0.0.0.0/8", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",
        "198.18.0.0/15", "224.0.0.0/3", "::1/128", "::/128", "fc00::/7", "fe80::/10",
        "2001:db8::/32", "ff00::/8"}) {
    if (InRange(*ip, net)) {
      return false;
    }
  }
  return true;
}

}  // namespace sluice::monitor
