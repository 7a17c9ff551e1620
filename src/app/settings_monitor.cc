// [health]: the sending domains' DNS checked on a schedule; [blocklists]:
// egress addresses and sending domains looked up in DNS blocklists.
#include <chrono>
#include <set>

#include "app/settings.h"
#include "core/address.h"
#include "core/ascii.h"

namespace sluice::app {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

// A duration `key` within [min, max]; `bounds` says so when it is not.
seconds Bounded(const config::Section& s, std::string_view key, seconds value, seconds min,
                seconds max, const std::string& bounds) {
  value = duration_cast<seconds>(s.Duration(key, value));
  if (value < min || value > max) {
    s.Report(key, bounds);
  }
  return value;
}

constexpr seconds kDay{86400};

}  // namespace

void BindHealth(const config::Section& root, Settings& st) {
  auto s = root.Table("health");
  s.RejectUnknown({"enabled", "interval", "rotation_notice", "domains"});
  auto& h = st.health;
  h.enabled = s.Bool("enabled", h.enabled);
  h.interval = Bounded(s, "interval", h.interval, seconds(1), 7 * kDay,
                       "must be 1s to 7d (an hour suits most: DNS changes slowly)");
  h.rotation_notice = Bounded(s, "rotation_notice", h.rotation_notice, seconds(0), 366 * kDay,
                              "must be 0s to 366d");
  h.domains.clear();
  for (const auto& d : s.StringList("domains")) {
    auto name = NormalizeDomain(d);
    if (!name || name->empty() || name->front() == '[') {
      s.Report("domains", "\"" + d + "\" is not a domain name");
      continue;
    }
    h.domains.push_back(*name);
  }
}

void BindBlocklists(const config::Section& root, Settings& st) {
  auto s = root.Table("blocklists");
  s.RejectUnknown({"enabled", "interval", "lists", "take_out_of_pools", "custom"});
  auto& b = st.blocklists;
  b.enabled = s.Bool("enabled", b.enabled);
  b.interval = Bounded(s, "interval", b.interval, seconds(1), 7 * kDay,
                       "must be 1s to 7d (the built-in lists are asked at most every 15m)");
  const bool take_out = s.Bool("take_out_of_pools", false);
  std::vector<std::string> names;
  if (s.Has("lists")) {
    names = s.StringList("lists");
  } else {
    for (const auto& l : monitor::BuiltinBlocklists()) {
      names.push_back(l.name);
    }
  }
  b.lists.clear();
  std::set<std::string> seen;
  for (const auto& name : names) {
    const monitor::Blocklist* builtin = monitor::FindBuiltin(name);
    if (builtin == nullptr) {
      std::string known;
      for (const auto& l : monitor::BuiltinBlocklists()) {
        known += (known.empty() ? "" : ", ") + l.name;
      }
      s.Report("lists", "no built-in list \"" + name + "\" (known: " + known +
                            "; others go in [[blocklists.custom]])");
      continue;
    }
    if (seen.insert(name).second) {
      b.lists.push_back(*builtin);
      b.lists.back().take_out_of_pools = take_out && builtin->kind == monitor::ListKind::kIp;
    }
  }
  for (const auto& c : s.Tables("custom")) {
    c.RejectUnknown({"name", "zone", "kind", "take_out_of_pools"});
    monitor::Blocklist l;
    l.name = c.String("name", "");
    if (l.name.empty() || !seen.insert(l.name).second) {
      c.Report("name", l.name.empty() ? "is required" : "a second list named " + l.name);
      continue;
    }
    auto zone = NormalizeDomain(c.String("zone", ""));
    if (!zone || zone->empty() || zone->front() == '[' || zone->find('.') == std::string::npos) {
      c.Report("zone", "must be the list's DNS zone (\"bl.example.net\")");
      continue;
    }
    l.zone = *zone;
    const std::string kind = c.String("kind", "ip");
    if (kind != "ip" && kind != "domain") {
      c.Report("kind", "must be \"ip\" or \"domain\"");
      continue;
    }
    l.kind = kind == "ip" ? monitor::ListKind::kIp : monitor::ListKind::kDomain;
    l.take_out_of_pools = c.Bool("take_out_of_pools", take_out);
    if (l.take_out_of_pools && l.kind != monitor::ListKind::kIp) {
      c.Report("take_out_of_pools", "only an \"ip\" list can take sources out of pools");
    }
    b.lists.push_back(std::move(l));
  }
}

void BindDmarc(const config::Section& root, Settings& st) {
  auto s = root.Table("dmarc");
  s.RejectUnknown({"addresses", "path", "retention", "max_daily_size"});
  auto& d = st.dmarc;
  d.addresses.clear();
  for (const auto& a : s.StringList("addresses")) {
    auto addr = ParseMailbox(a);
    if (!addr || addr->local.empty() || addr->ascii_domain.empty() ||
        addr->ascii_domain.front() == '[') {
      s.Report("addresses", "\"" + a + "\" is not a mailbox (\"dmarc-reports@fb.example.com\")");
      continue;
    }
    d.addresses.push_back(AsciiLower(addr->local) + "@" + addr->ascii_domain);
  }
  d.store.path = s.String("path", d.store.path);
  if (d.store.path.empty()) {
    s.Report("path", "must name a directory");
  }
  d.store.retention = duration_cast<std::chrono::hours>(
      Bounded(s, "retention", d.store.retention, kDay, 3660 * kDay, "must be 1d to 3660d"));
  d.max_daily_size = s.Size("max_daily_size", d.max_daily_size);
  if (d.max_daily_size < (1u << 20)) {
    s.Report("max_daily_size", "must be at least 1MiB");
  }
}

}  // namespace sluice::app
