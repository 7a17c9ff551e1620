#include "doctor/spf.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include <arpa/inet.h>

#include "core/ascii.h"
#include "core/network.h"

namespace sluice::doctor {
namespace {

constexpr int kMaxLookups = 10;       // §4.6.4
constexpr int kMaxVoidLookups = 2;    // §4.6.4
constexpr int kMaxMxOrPtrNames = 10;  // §4.6.4
constexpr int kMaxDepth = 12;

std::vector<std::string_view> Terms(std::string_view record) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < record.size()) {
    while (pos < record.size() && record[pos] == ' ') {
      ++pos;
    }
    std::size_t end = record.find(' ', pos);
    if (end == std::string_view::npos) {
      end = record.size();
    }
    if (end > pos) {
      out.push_back(record.substr(pos, end - pos));
    }
    pos = end;
  }
  return out;
}

bool SameAddress(const std::string& a, const std::string& b) {
  auto x = IpAddress::Parse(a);
  auto y = IpAddress::Parse(b);
  return x && y && x->bytes() == y->bytes();
}

bool IsV4(const std::string& ip) {
  in_addr a{};
  return inet_pton(AF_INET, ip.c_str(), &a) == 1;
}

// "domain/cidr4//cidr6" pieces of a mechanism argument.
struct Target {
  std::string domain_spec;  // may be empty: the current domain
  int cidr4 = 32;
  int cidr6 = 128;
  bool ok = true;
};

Target ParseTarget(std::string_view arg) {
  Target t;
  auto slash = arg.find('/');
  t.domain_spec = std::string(arg.substr(0, slash));
  if (slash == std::string_view::npos) {
    return t;
  }
  std::string_view cidrs = arg.substr(slash);
  auto parse = [&](std::string_view s, int max, int& out) {
    int v = -1;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    t.ok = t.ok && r.ec == std::errc() && r.ptr == s.data() + s.size() && v >= 0 && v <= max &&
           !(s.size() > 1 && s[0] == '0');
    out = v;
  };
  if (cidrs.rfind("//", 0) == 0) {
    parse(cidrs.substr(2), 128, t.cidr6);
    return t;
  }
  cidrs.remove_prefix(1);
  auto dbl = cidrs.find("//");
  parse(cidrs.substr(0, dbl), 32, t.cidr4);
  if (dbl != std::string_view::npos) {
    parse(cidrs.substr(dbl + 2), 128, t.cidr6);
  }
  return t;
}

bool InNetwork(const std::string& ip, const std::string& addr, int cidr4, int cidr6) {
  bool v4 = IsV4(addr);
  if (v4 != IsV4(ip)) {
    return false;
  }
  auto net = Network::Parse(addr + "/" + std::to_string(v4 ? cidr4 : cidr6));
  auto a = IpAddress::Parse(ip);
  return net && a && net->Contains(*a);
}

struct Eval {
  dns::Resolver& resolver;
  std::string ip;
  std::string sender;
  int lookups = 0;
  int voids = 0;
  std::string reason;
};

SpfVerdict Verdict(SpfResult r, std::string reason, const Eval& e) {
  return {r, std::move(reason), e.lookups};
}

// A lookup result seen by §4.6.4: NXDOMAIN or no records count as void.
template <class T>
bool CountVoid(Eval& e, const Result<std::vector<T>, dns::DnsError>& r) {
  bool is_void = (!r && r.error() == dns::DnsError::kNxDomain) || (r && r->empty());
  if (is_void) {
    ++e.voids;
  }
  return e.voids > kMaxVoidLookups;
}

bool Transient(dns::DnsError e) {
  return e == dns::DnsError::kServFail || e == dns::DnsError::kTimeout ||
         e == dns::DnsError::kBogus;
}

boost::asio::awaitable<SpfVerdict> Evaluate(Eval& e, std::string domain, int depth);

// Whether a mechanism matches; nullopt with e.reason set means an error verdict
// (`error` then holds which).
struct MatchResult {
  bool matched = false;
  std::optional<SpfResult> error;
};

boost::asio::awaitable<MatchResult> Match(Eval& e, std::string_view name, std::string_view arg,
                                          bool has_arg, const std::string& domain, int depth) {
  MatchResult out;
  auto perm = [&](std::string why) {
    e.reason = std::move(why);
    out.error = SpfResult::kPermError;
    return out;
  };
  auto temp = [&](std::string why) {
    e.reason = std::move(why);
    out.error = SpfResult::kTempError;
    return out;
  };
  MacroContext ctx{e.sender, domain, e.ip, domain};
  if (name == "all") {
    if (has_arg) {
      co_return perm("\"all\" takes no argument");
    }
    out.matched = true;
    co_return out;
  }
  if (name == "ip4" || name == "ip6") {
    bool v4 = name == "ip4";
    auto slash = arg.find('/');
    std::string addr(arg.substr(0, slash));
    int len = v4 ? 32 : 128;
    bool ok = has_arg && IsV4(addr) == v4 && IpAddress::Parse(addr).has_value();
    if (ok && slash != std::string_view::npos) {
      std::string_view digits = arg.substr(slash + 1);
      auto r = std::from_chars(digits.data(), digits.data() + digits.size(), len);
      ok = r.ec == std::errc() && r.ptr == digits.data() + digits.size() && !digits.empty() &&
           len >= 0 && len <= (v4 ? 32 : 128);
    }
    if (!ok) {
      co_return perm("bad " + std::string(name) + " term \"" + std::string(arg) + "\"");
    }
    out.matched = InNetwork(e.ip, addr, len, len);
    co_return out;
  }
  // Everything else costs a DNS lookup.
  if (++e.lookups > kMaxLookups) {
    co_return perm("more than 10 DNS lookups (RFC 7208 §4.6.4)");
  }
  if (name == "include") {
    std::string target;
    if (!has_arg || !ExpandMacros(arg, ctx, target)) {
      co_return perm("bad include term");
    }
    SpfVerdict v = co_await Evaluate(e, target, depth + 1);
    if (v.result == SpfResult::kPass) {
      out.matched = true;
    } else if (v.result == SpfResult::kTempError) {
      co_return temp(v.reason);
    } else if (v.result == SpfResult::kPermError || v.result == SpfResult::kNone) {
      co_return perm("include:" + target + ": " +
                     (v.result == SpfResult::kNone ? std::string("no SPF record") : v.reason));
    }
    co_return out;
  }
  if (name == "a" || name == "mx") {
    Target t = ParseTarget(arg);
    std::string target = domain;
    if (!t.ok || (has_arg && t.domain_spec.empty())) {
      co_return perm("bad " + std::string(name) + " term");
    }
    if (!t.domain_spec.empty() && !ExpandMacros(t.domain_spec, ctx, target)) {
      co_return perm("bad " + std::string(name) + " domain");
    }
    std::vector<std::string> hosts;
    if (name == "mx") {
      auto mx = co_await e.resolver.ResolveMx(target);
      if (!mx && Transient(mx.error())) {
        co_return temp("MX lookup for " + target + " failed");
      }
      if (mx && !mx->implicit) {
        for (const auto& h : mx->hosts) {
          hosts.push_back(h.host);
        }
      } else {
        ++e.voids;  // no MX records (§5.4: no implicit MX here)
        if (e.voids > kMaxVoidLookups) {
          co_return perm("more than 2 void lookups (RFC 7208 §4.6.4)");
        }
      }
      if (hosts.size() > kMaxMxOrPtrNames) {
        co_return perm("more than 10 MX names (RFC 7208 §4.6.4)");
      }
    } else {
      hosts.push_back(target);
    }
    for (const auto& h : hosts) {
      auto addrs = co_await e.resolver.ResolveAddresses(h);
      if (!addrs && Transient(addrs.error())) {
        co_return temp("address lookup for " + h + " failed");
      }
      if (name == "a" && CountVoid(e, addrs)) {
        co_return perm("more than 2 void lookups (RFC 7208 §4.6.4)");
      }
      if (!addrs) {
        continue;
      }
      for (const auto& a : addrs.value()) {
        if (InNetwork(e.ip, a, t.cidr4, t.cidr6)) {
          out.matched = true;
          co_return out;
        }
      }
    }
    co_return out;
  }
  if (name == "exists") {
    std::string target;
    if (!has_arg || !ExpandMacros(arg, ctx, target)) {
      co_return perm("bad exists term");
    }
    auto addrs = co_await e.resolver.ResolveAddresses(target);
    if (!addrs && Transient(addrs.error())) {
      co_return temp("lookup for " + target + " failed");
    }
    if (CountVoid(e, addrs)) {
      co_return perm("more than 2 void lookups (RFC 7208 §4.6.4)");
    }
    out.matched = addrs && std::any_of(addrs->begin(), addrs->end(), IsV4);
    co_return out;
  }
  if (name == "ptr") {
    // §5.5 (discouraged): a validated PTR name of the IP within the target domain.
    std::string target = domain;
    if (has_arg && !ExpandMacros(arg, ctx, target)) {
      co_return perm("bad ptr term");
    }
    auto names = co_await e.resolver.ResolvePtr(e.ip);
    if (!names) {
      co_return out;
    }
    int n = 0;
    for (const auto& pn : names.value()) {
      if (++n > kMaxMxOrPtrNames) {
        break;
      }
      auto addrs = co_await e.resolver.ResolveAddresses(pn);
      bool confirmed = addrs && std::any_of(addrs->begin(), addrs->end(),
                                            [&](const auto& a) { return SameAddress(a, e.ip); });
      std::string t = AsciiLower(target);
      bool within = pn == t || (pn.size() > t.size() && pn.ends_with("." + t));
      if (confirmed && within) {
        out.matched = true;
        co_return out;
      }
    }
    co_return out;
  }
  co_return perm("unknown mechanism \"" + std::string(name) + "\"");
}

// §4.6.1: a term is a modifier if a '=' comes before any ':' or '/'; the
// position of that '=', or npos for a mechanism.
std::size_t ModifierEquals(std::string_view t) {
  auto eq = t.find('=');
  if (eq == std::string_view::npos || t.find(':') < eq || t.find('/') < eq) {
    return std::string_view::npos;
  }
  return eq;
}

bool ValidName(std::string_view n) {
  if (n.empty() || !((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z'))) {
    return false;
  }
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

bool ValidDomainSpec(std::string_view spec) {
  MacroContext probe{"postmaster@example.com", "example.com", "192.0.2.1", "example.com"};
  std::string out;
  return !spec.empty() && ExpandMacros(spec, probe, out);
}

// §4.6 / §12: the syntax of one term, checked for the whole record before
// any is evaluated (a syntax error anywhere is a permerror).
bool ValidTerm(std::string_view t, std::string& why) {
  auto eq = ModifierEquals(t);
  if (eq != std::string_view::npos) {
    std::string name = AsciiLower(t.substr(0, eq));
    if (!ValidName(name)) {
      why = "bad modifier \"" + std::string(t) + "\"";
      return false;
    }
    if ((name == "redirect" || name == "exp") && !ValidDomainSpec(t.substr(eq + 1))) {
      why = "bad " + name + " domain";
      return false;
    }
    return true;
  }
  if (!t.empty() && std::string_view("+-~?").find(t[0]) != std::string_view::npos) {
    t.remove_prefix(1);
  }
  std::size_t cut = std::min(t.find(':'), t.find('/'));
  std::string name = AsciiLower(t.substr(0, cut));
  bool has_arg = cut < t.size() && t[cut] == ':';
  std::string_view arg = cut < t.size() ? t.substr(cut + 1) : std::string_view();
  std::string_view tail = cut < t.size() ? t.substr(cut) : std::string_view();
  why = "bad term \"" + std::string(t) + "\"";
  if (name == "all") {
    return tail.empty();
  }
  if (name == "include" || name == "exists") {
    return has_arg && ValidDomainSpec(arg);
  }
  if (name == "ptr") {
    return tail.empty() || (has_arg && ValidDomainSpec(arg));
  }
  if (name == "a" || name == "mx") {
    Target target = ParseTarget(has_arg ? arg : tail);
    return target.ok && (!has_arg || ValidDomainSpec(target.domain_spec));
  }
  if (name == "ip4" || name == "ip6") {
    if (!has_arg) {
      return false;
    }
    auto sl = arg.find('/');
    std::string addr(arg.substr(0, sl));
    bool v4 = name == "ip4";
    if (IsV4(addr) != v4 || !IpAddress::Parse(addr)) {
      return false;
    }
    if (sl != std::string_view::npos) {
      std::string_view digits = arg.substr(sl + 1);
      int len = -1;
      auto r = std::from_chars(digits.data(), digits.data() + digits.size(), len);
      return r.ec == std::errc() && r.ptr == digits.data() + digits.size() && !digits.empty() &&
             len >= 0 && len <= (v4 ? 32 : 128);
    }
    return true;
  }
  why = "unknown mechanism \"" + name + "\"";
  return false;
}

boost::asio::awaitable<SpfVerdict> Evaluate(Eval& e, std::string domain, int depth) {
  if (depth > kMaxDepth) {
    co_return Verdict(SpfResult::kPermError, "include or redirect loop", e);
  }
  auto txt = co_await e.resolver.ResolveTxt(domain);
  if (!txt) {
    if (txt.error() == dns::DnsError::kNxDomain || txt.error() == dns::DnsError::kBadName) {
      co_return Verdict(SpfResult::kNone, domain + " does not exist", e);
    }
    co_return Verdict(SpfResult::kTempError, "TXT lookup for " + domain + " failed", e);
  }
  SpfRecordPick pick = PickSpfRecord(txt.value());
  if (pick.multiple) {
    co_return Verdict(SpfResult::kPermError, domain + " has more than one SPF record", e);
  }
  if (pick.record.empty()) {
    co_return Verdict(SpfResult::kNone, domain + " has no SPF record", e);
  }
  std::optional<std::string> redirect;
  auto terms = Terms(pick.record);
  for (std::size_t i = 1; i < terms.size(); ++i) {
    std::string why;
    if (!ValidTerm(terms[i], why)) {
      co_return Verdict(SpfResult::kPermError, domain + ": " + why, e);
    }
  }
  // Modifiers first (syntax, and §6: redirect at most once).
  for (std::size_t i = 1; i < terms.size(); ++i) {
    std::string_view t = terms[i];
    auto eq = ModifierEquals(t);
    if (eq != std::string_view::npos) {
      std::string mod = AsciiLower(t.substr(0, eq));
      if (mod == "redirect") {
        if (redirect) {
          co_return Verdict(SpfResult::kPermError, "more than one redirect modifier", e);
        }
        redirect = std::string(t.substr(eq + 1));
      }
    }
  }
  for (std::size_t i = 1; i < terms.size(); ++i) {
    std::string_view t = terms[i];
    auto eq = ModifierEquals(t);
    if (eq != std::string_view::npos) {
      continue;  // a modifier
    }
    SpfResult qualifier = SpfResult::kPass;
    if (!t.empty() && (t[0] == '+' || t[0] == '-' || t[0] == '~' || t[0] == '?')) {
      qualifier = t[0] == '+'   ? SpfResult::kPass
                  : t[0] == '-' ? SpfResult::kFail
                  : t[0] == '~' ? SpfResult::kSoftFail
                                : SpfResult::kNeutral;
      t.remove_prefix(1);
    }
    std::size_t cut = std::min({t.find(':'), t.find('/'), t.size()});
    std::string name = AsciiLower(t.substr(0, cut));
    bool has_arg = cut < t.size() && t[cut] == ':';
    std::string_view arg = has_arg ? t.substr(cut + 1) : t.substr(cut);
    MatchResult m = co_await Match(e, name, arg, has_arg, domain, depth);
    if (m.error) {
      co_return Verdict(*m.error, e.reason, e);
    }
    if (m.matched) {
      co_return Verdict(qualifier, domain + ": matched \"" + std::string(terms[i]) + "\"", e);
    }
  }
  if (redirect) {
    if (++e.lookups > kMaxLookups) {
      co_return Verdict(SpfResult::kPermError, "more than 10 DNS lookups (RFC 7208 §4.6.4)", e);
    }
    std::string target;
    MacroContext ctx{e.sender, domain, e.ip, domain};
    if (!ExpandMacros(*redirect, ctx, target)) {
      co_return Verdict(SpfResult::kPermError, "bad redirect domain", e);
    }
    SpfVerdict v = co_await Evaluate(e, target, depth + 1);
    if (v.result == SpfResult::kNone) {
      v.result = SpfResult::kPermError;  // §6.1
      v.reason = "redirect=" + target + ": no SPF record";
    }
    co_return v;
  }
  co_return Verdict(SpfResult::kNeutral, domain + ": no term matched", e);
}

}  // namespace

const char* ToString(SpfResult r) {
  switch (r) {
    case SpfResult::kNone:
      return "none";
    case SpfResult::kNeutral:
      return "neutral";
    case SpfResult::kPass:
      return "pass";
    case SpfResult::kFail:
      return "fail";
    case SpfResult::kSoftFail:
      return "softfail";
    case SpfResult::kTempError:
      return "temperror";
    case SpfResult::kPermError:
      return "permerror";
  }
  return "none";
}

SpfRecordPick PickSpfRecord(const std::vector<std::string>& txt) {
  SpfRecordPick out;
  for (const auto& t : txt) {
    // §4.5: exactly "v=spf1" (any case), then a space or the end.
    if (t.size() >= 6 && AsciiLower(t.substr(0, 6)) == "v=spf1" && (t.size() == 6 || t[6] == ' ')) {
      if (!out.record.empty()) {
        out.multiple = true;
      }
      out.record = t;
    }
  }
  return out;
}

bool ExpandMacros(std::string_view spec, const MacroContext& ctx, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < spec.size(); ++i) {
    char c = spec[i];
    if (c != '%') {
      if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) {
        return false;
      }
      out += c;
      continue;
    }
    if (++i >= spec.size()) {
      return false;
    }
    char n = spec[i];
    if (n == '%') {
      out += '%';
      continue;
    }
    if (n == '_') {
      out += ' ';
      continue;
    }
    if (n == '-') {
      out += "%20";
      continue;
    }
    if (n != '{') {
      return false;
    }
    auto close = spec.find('}', i);
    if (close == std::string_view::npos || close == i + 1) {
      return false;
    }
    std::string_view m = spec.substr(i + 1, close - i - 1);
    i = close;
    char letter = static_cast<char>(m[0] | 0x20);
    std::string value;
    auto at = ctx.sender.rfind('@');
    switch (letter) {
      case 's':
        value = ctx.sender;
        break;
      case 'l':
        value = at == std::string::npos ? "postmaster" : ctx.sender.substr(0, at);
        break;
      case 'o':
        value = at == std::string::npos ? ctx.sender : ctx.sender.substr(at + 1);
        break;
      case 'd':
        value = ctx.domain;
        break;
      case 'h':
        value = ctx.helo;
        break;
      case 'v':
        value = IsV4(ctx.ip) ? "in-addr" : "ip6";
        break;
      case 'p':
        value = "unknown";  // §7.3: "p" is discouraged; we do not look it up
        break;
      case 'i':
        if (IsV4(ctx.ip)) {
          value = ctx.ip;
        } else {
          unsigned char b[16];
          if (inet_pton(AF_INET6, ctx.ip.c_str(), b) != 1) {
            return false;
          }
          static constexpr char kHex[] = "0123456789abcdef";
          for (int k = 0; k < 16; ++k) {
            value += kHex[b[k] >> 4];
            value += '.';
            value += kHex[b[k] & 0xf];
            if (k != 15) {
              value += '.';
            }
          }
        }
        break;
      default:
        return false;
    }
    // Transformers: digits, 'r', then delimiters.
    std::size_t k = 1;
    int keep = 0;
    while (k < m.size() && m[k] >= '0' && m[k] <= '9') {
      keep = keep * 10 + (m[k] - '0');
      if (keep > 128) {
        return false;
      }
      ++k;
    }
    bool reverse = k < m.size() && (m[k] == 'r' || m[k] == 'R');
    if (reverse) {
      ++k;
    }
    std::string delims = std::string(m.substr(k));
    for (char dch : delims) {
      if (std::string_view(".-+,/_=").find(dch) == std::string_view::npos) {
        return false;
      }
    }
    if (delims.empty()) {
      delims = ".";
    }
    std::vector<std::string> parts(1);
    for (char vc : value) {
      if (delims.find(vc) != std::string::npos) {
        parts.emplace_back();
      } else {
        parts.back() += vc;
      }
    }
    if (reverse) {
      std::reverse(parts.begin(), parts.end());
    }
    if (keep > 0 && static_cast<std::size_t>(keep) < parts.size()) {
      parts.erase(parts.begin(), parts.end() - keep);
    }
    std::string joined;
    for (const auto& p : parts) {
      joined += (joined.empty() ? "" : ".") + p;
    }
    out += joined;
    if (out.size() > 1024) {
      return false;
    }
  }
  // §7.3: a result over 253 characters keeps its rightmost labels.
  while (out.size() > 253 && out.find('.') != std::string::npos) {
    out.erase(0, out.find('.') + 1);
  }
  return true;
}

boost::asio::awaitable<SpfVerdict> CheckHost(dns::Resolver& resolver, std::string ip,
                                             std::string domain, std::string sender) {
  Eval e{resolver, std::move(ip), std::move(sender), 0, 0, {}};
  SpfVerdict v = co_await Evaluate(e, std::move(domain), 0);
  co_return v;
}

namespace {

boost::asio::awaitable<int> Count(dns::Resolver& resolver, std::string domain, int depth,
                                  std::string* why) {
  if (depth > kMaxDepth) {
    *why = "include or redirect loop";
    co_return -1;
  }
  auto txt = co_await resolver.ResolveTxt(domain);
  if (!txt) {
    *why = "TXT lookup for " + domain + ": " + dns::ToString(txt.error());
    co_return -1;
  }
  SpfRecordPick pick = PickSpfRecord(txt.value());
  if (pick.record.empty() || pick.multiple) {
    *why = domain + (pick.multiple ? " has more than one SPF record" : " has no SPF record");
    co_return -1;
  }
  int n = 0;
  auto terms = Terms(pick.record);
  for (std::size_t i = 1; i < terms.size(); ++i) {
    std::string t = AsciiLower(terms[i]);
    if (!t.empty() && std::string_view("+-~?").find(t[0]) != std::string_view::npos) {
      t.erase(0, 1);
    }
    std::string target;
    if (t.rfind("include:", 0) == 0) {
      target = t.substr(8);
    } else if (t.rfind("redirect=", 0) == 0) {
      target = t.substr(9);
    } else if (t == "a" || t == "mx" || t == "ptr" || t.rfind("a:", 0) == 0 ||
               t.rfind("a/", 0) == 0 || t.rfind("mx:", 0) == 0 || t.rfind("mx/", 0) == 0 ||
               t.rfind("ptr:", 0) == 0 || t.rfind("exists:", 0) == 0) {
      ++n;
      continue;
    } else {
      continue;
    }
    ++n;
    if (target.find('%') != std::string::npos) {
      continue;  // depends on the message; counted once
    }
    int sub = co_await Count(resolver, target, depth + 1, why);
    if (sub < 0) {
      co_return -1;
    }
    n += sub;
  }
  co_return n;
}

}  // namespace

boost::asio::awaitable<int> CountLookups(dns::Resolver& resolver, std::string domain,
                                         std::string* why) {
  int n = co_await Count(resolver, std::move(domain), 0, why);
  co_return n;
}

}  // namespace sluice::doctor
