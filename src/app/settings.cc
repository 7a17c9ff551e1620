#include "app/settings.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "auth/credentials.h"
#include "core/address.h"
#include "core/network.h"
#include "core/time_format.h"
#include "queue/queue_name.h"

namespace sluice::app {

const char* const kDefaultConfig =
    R"toml(# Sluice default configuration: loopback listeners, spool in ./var.
[server]
hostname = "localhost"
threads = 2
shutdown_timeout = "10s"
# Mail to postmaster is kept in this Maildir; or set postmaster = "you@example.net".
postmaster_maildir = "var/postmaster"

[spool]
path = "var/spool"
min_free_disk = "256MiB"
min_free_memory = "64MiB"

[events]
log = "var/events.jsonl"
# Rotated at 1GiB or daily, whichever comes first; 30 closed files kept, zstd.
log_max_size = "1GiB"
log_max_age = "1d"
log_keep = 30
log_compress = true
# Below this free space the log drops (and counts) records: the spool's room.
log_min_free_disk = "64MiB"
# Each message's events, read back by GET /api/v1/messages/{id}; "0" keeps none.
history_path = "var/history"
history_retention = "7d"

[auth]
users_file = "var/users"

[relay]
networks = ["127.0.0.0/8", "::1/128"]
local_domains = []

[dns]
# Empty: full recursion from the root. Or e.g. ["127.0.0.1@53"].
forwarders = []

[delivery]
enabled = true
tls = "opportunistic"
connection_limit = 10
max_deliveries_per_connection = 100

[queue]
first_retry = "5m"
backoff_factor = 2.0
max_retry_interval = "4h"
max_age = "5d"

[admin]
socket = "var/admin.sock"

[api]
# Bearer keys of the HTTP API (sluice key create ...): ids and hashes only.
keys_file = "var/api-keys"

[[http]]
name = "api"
address = "127.0.0.1"
port = 8025
tls = "none"

[[listener]]
name = "relay"
kind = "relay"
address = "127.0.0.1"
port = 2525
tls = "self-signed"

[[listener]]
name = "submission"
kind = "submission"
address = "127.0.0.1"
port = 2587
tls = "self-signed"

[[listener]]
name = "smtps"
kind = "smtps"
address = "127.0.0.1"
port = 2465
tls = "self-signed"
)toml";

void BindTlsMode(const config::Section& s, const std::string& hostname, TlsMode& mode,
                 tls::ServerOptions& files) {
  std::string m = s.String("tls", s.Has("tls_cert") ? "files" : "none");
  files.hostname = hostname;
  if (m == "none") {
    mode = TlsMode::kNone;
  } else if (m == "self-signed") {
    mode = TlsMode::kSelfSigned;
  } else if (m == "files") {
    mode = TlsMode::kFiles;
    files.cert_file = s.String("tls_cert", "");
    files.key_file = s.String("tls_key", "");
    if (files.cert_file.empty() || files.key_file.empty()) {
      s.Report("tls", "\"files\" needs both tls_cert and tls_key");
    }
  } else {
    s.Report("tls", "must be \"none\", \"self-signed\" or \"files\"");
  }
  files.min_version = s.String("tls_min_version", files.min_version);
  files.ciphers = s.String("tls_ciphers", files.ciphers);
  files.ciphersuites = s.String("tls_ciphersuites", files.ciphersuites);
  if (auto ok = tls::CheckProtocolSettings(files); !ok) {
    s.Report(ok.error().first, ok.error().second);
  }
}

namespace {

void BindLimits(const config::Section& s, smtp::Limits& l) {
  l.max_message_size = s.Size("max_message_size", l.max_message_size);
  l.max_recipients =
      static_cast<std::uint32_t>(s.Int("max_recipients", l.max_recipients, 1, 100000));
  l.recipient_overshoot_limit = static_cast<std::uint32_t>(
      s.Int("recipient_overshoot_limit", l.recipient_overshoot_limit, 0, 1000000));
  l.max_command_line_length = static_cast<std::size_t>(s.Int(
      "max_command_line_length", static_cast<std::int64_t>(l.max_command_line_length), 512, 65536));
  l.max_line_length = static_cast<std::size_t>(
      s.Int("max_line_length", static_cast<std::int64_t>(l.max_line_length), 78, 1 << 20));
  l.command_timeout = s.Duration("command_timeout", l.command_timeout);
  l.data_timeout = s.Duration("data_timeout", l.data_timeout);
  l.tls_handshake_timeout = s.Duration("tls_handshake_timeout", l.tls_handshake_timeout);
  l.max_connections =
      static_cast<std::uint32_t>(s.Int("max_connections", l.max_connections, 1, 1000000));
  l.max_connections_per_ip = static_cast<std::uint32_t>(
      s.Int("max_connections_per_ip", l.max_connections_per_ip, 1, 1000000));
  l.max_connections_per_relay_client = static_cast<std::uint32_t>(
      s.Int("max_connections_per_relay_client", l.max_connections_per_relay_client, 1, 1000000));
  l.max_errors = static_cast<std::uint32_t>(s.Int("max_errors", l.max_errors, 1, 1000));
  l.max_messages_per_connection = static_cast<std::uint32_t>(
      s.Int("max_messages_per_connection", l.max_messages_per_connection, 1, 10000000));
}

ListenerSettings BindListener(const config::Section& s, const std::string& hostname) {
  // clang-format off
  s.RejectUnknown({"name", "kind", "address", "port", "tls", "tls_cert", "tls_key",
                   "tls_min_version", "tls_ciphers", "tls_ciphersuites",
                   "allow_plaintext_auth", "max_message_size", "max_recipients",
                   "max_command_line_length", "max_line_length", "command_timeout", "data_timeout",
                   "tls_handshake_timeout", "max_connections", "max_connections_per_ip",
                   "max_connections_per_relay_client", "recipient_overshoot_limit", "max_errors",
                   "max_messages_per_connection"});
  // clang-format on
  ListenerSettings out;
  auto& o = out.smtp;
  o.name = s.String("name", "");
  if (o.name.empty()) {
    s.Report("name", "every listener needs a name");
  }
  std::string kind = s.String("kind", "relay");
  if (kind == "relay") {
    o.kind = smtp::ListenerKind::kRelay;
  } else if (kind == "submission") {
    o.kind = smtp::ListenerKind::kSubmission;
  } else if (kind == "smtps") {
    o.kind = smtp::ListenerKind::kSmtps;
  } else {
    s.Report("kind", "must be \"relay\", \"submission\" or \"smtps\"");
  }
  o.address = s.String("address", "127.0.0.1");
  auto ip = IpAddress::Parse(o.address);
  if (!ip) {
    s.Report("address", "not an IP address: " + o.address);
  }
  o.port = static_cast<std::uint16_t>(s.Int("port", 25, 0, 65535));
  o.allow_plaintext_auth = s.Bool("allow_plaintext_auth", false);
  if (o.allow_plaintext_auth && ip && !ip->IsLoopback()) {
    s.Report("allow_plaintext_auth", "is only allowed on a loopback address");
  }
  BindLimits(s, o.limits);

  BindTlsMode(s, hostname, out.tls, out.tls_files);
  if (o.kind == smtp::ListenerKind::kSmtps && out.tls == TlsMode::kNone) {
    s.Report("tls", "an smtps listener needs TLS (\"self-signed\" or \"files\")");
  }
  return out;
}

bool ValidSelector(const std::string& s) {
  // RFC 6376 §3.1: selector = sub-domain *( "." sub-domain )
  if (s.empty() || s.size() > 63 || s.front() == '.' || s.back() == '.' || s.front() == '-') {
    return false;
  }
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::optional<dkim::TimePoint> BindDate(const config::Section& s, std::string_view key) {
  if (!s.Has(key)) {
    return std::nullopt;
  }
  std::string text = s.String(key, "");
  auto t = ParseRfc3339(text);
  if (!t) {
    s.Report(key, "expected a date (\"2026-12-01\") or date-time (\"2026-12-01T00:00:00Z\")");
  }
  return t;
}

void BindDkim(const config::Section& s, dkim::Options& o) {
  s.RejectUnknown({"canonicalization", "headers", "oversign", "expire", "fallback_domain",
                   "require_published", "recheck", "domain"});
  std::string canon = s.String("canonicalization", dkim::ToString(o.canon));
  if (auto c = dkim::ParseCanon(canon); c && canon.find('/') != std::string::npos) {
    o.canon = *c;
  } else {
    s.Report("canonicalization",
             "expected \"relaxed/relaxed\", \"relaxed/simple\", "
             "\"simple/relaxed\" or \"simple/simple\"");
  }
  auto field_names = [&](std::string_view key, std::vector<std::string>& out) {
    if (!s.Has(key)) {
      return;
    }
    out = s.StringList(key);
    for (const auto& name : out) {
      // RFC 5322 §3.6.8: printable ASCII but ':' (and no space).
      bool ok = !name.empty() && std::all_of(name.begin(), name.end(),
                                             [](char c) { return c > 32 && c < 127 && c != ':'; });
      if (!ok) {
        s.Report(key, "not a header field name: \"" + name + "\"");
      }
    }
  };
  field_names("headers", o.headers);
  field_names("oversign", o.oversign);
  auto expire = s.Duration("expire", std::chrono::milliseconds(0));
  if (expire.count() > 0) {
    o.expire = std::chrono::duration_cast<std::chrono::seconds>(expire);
  }
  o.require_published = s.Bool("require_published", o.require_published);
  o.recheck = std::chrono::duration_cast<std::chrono::seconds>(
      s.Duration("recheck", std::chrono::duration_cast<std::chrono::milliseconds>(o.recheck)));
  if (o.recheck < std::chrono::seconds(1)) {
    s.Report("recheck", "must be at least 1s");
  }
  std::set<std::string> seen;
  for (const auto& d : s.Tables("domain")) {
    d.RejectUnknown({"domain", "signing_domain", "key"});
    dkim::DomainConfig dc;
    auto norm = NormalizeDomain(d.String("domain", ""));
    if (!norm) {
      d.Report("domain", "not a domain");
      continue;
    }
    dc.domain = norm.value();
    if (!seen.insert(dc.domain).second) {
      d.Report("domain", "a second entry for " + dc.domain);
      continue;
    }
    auto signing = NormalizeDomain(d.String("signing_domain", dc.domain));
    if (!signing) {
      d.Report("signing_domain", "not a domain");
      continue;
    }
    dc.signing_domain = signing.value();
    std::set<std::string> selectors;
    for (const auto& k : d.Tables("key")) {
      k.RejectUnknown({"selector", "key_file", "valid_from", "valid_until"});
      dkim::KeyConfig kc;
      kc.selector = k.String("selector", "");
      if (!ValidSelector(kc.selector)) {
        k.Report("selector", "not a selector (letters, digits, '-' and '.')");
        continue;
      }
      if (!selectors.insert(kc.selector).second) {
        k.Report("selector", "a second key for selector " + kc.selector);
        continue;
      }
      kc.key_file = k.String("key_file", "");
      auto key = dkim::PrivateKey::LoadPemFile(kc.key_file);
      if (!key) {
        k.Report("key_file", key.error());
        continue;
      }
      kc.key = std::move(key).value();
      kc.valid_from = BindDate(k, "valid_from");
      kc.valid_until = BindDate(k, "valid_until");
      if (kc.valid_from && kc.valid_until && *kc.valid_until <= *kc.valid_from) {
        k.Report("valid_until", "must be after valid_from");
      }
      dc.keys.push_back(std::move(kc));
    }
    if (dc.keys.empty()) {
      d.Report("key", "a signing domain needs at least one [[dkim.domain.key]]");
      continue;
    }
    o.domains.push_back(std::move(dc));
  }
  if (s.Has("fallback_domain")) {
    auto fb = NormalizeDomain(s.String("fallback_domain", ""));
    if (!fb || seen.count(fb.value()) == 0) {
      s.Report("fallback_domain", "must name a [[dkim.domain]] entry");
    } else {
      o.fallback_domain = fb.value();
    }
  }
}

bool HasPool(const delivery::Options& d, const std::string& name) {
  return std::any_of(d.egress.pools.begin(), d.egress.pools.end(),
                     [&](const auto& p) { return p.name == name; });
}

// A warm-up ramp or plan from `s`, keys spelled with `prefix` ("warmup_" on a
// source, "" in a named plan).
shaping::WarmupSchedule BindWarmupSteps(const config::Section& s, const std::string& prefix) {
  shaping::WarmupSchedule w;
  for (auto n : s.IntList(prefix + "plan", 0, 1000000000000)) {
    w.plan.push_back(static_cast<std::uint64_t>(n));
  }
  w.initial = static_cast<std::uint64_t>(s.Int(prefix + "initial", 50, 1, 1000000000));
  w.growth = s.Double(prefix + "growth", 2.0, 1.0, 100.0);
  w.max = static_cast<std::uint64_t>(s.Int(prefix + "max", 0, 0, 1000000000000));
  return w;
}

// [egress]: the sources outbound connections bind to, their warm-up, and the
// pools that group them.
void BindEgress(const config::Section& egress, Settings& st) {
  auto& d = st.delivery;
  egress.RejectUnknown({"source", "pool", "default_pool", "warmup", "warmup_day"});
  auto warmup_day = egress.Duration("warmup_day", std::chrono::hours(24));
  if (warmup_day < std::chrono::seconds(1)) {
    egress.Report("warmup_day", "must be at least 1s");
    warmup_day = std::chrono::hours(24);
  }
  // Named warm-up plans, shared by sources: [egress.warmup.NAME].
  std::map<std::string, shaping::WarmupSchedule> plans;
  auto named = egress.Table("warmup");
  for (const auto& name : named.Keys()) {
    auto plan = named.Table(name);
    plan.RejectUnknown({"plan", "initial", "growth", "max"});
    plans[name] = BindWarmupSteps(plan, "");
  }
  std::map<std::string, std::size_t> source_index;
  for (const auto& src : egress.Tables("source")) {
    src.RejectUnknown({"name", "address", "ehlo_name", "weight", "warmup", "warmup_start",
                       "warmup_plan", "warmup_initial", "warmup_growth", "warmup_max"});
    shaping::EgressSource e;
    e.name = src.String("name", "");
    e.address = src.String("address", "");
    e.ehlo_name = src.String("ehlo_name", d.client.ehlo_name);
    if (e.name.empty() || source_index.count(e.name) != 0) {
      src.Report("name",
                 e.name.empty() ? "every source needs a name" : "a second source " + e.name);
    }
    if (auto ip = IpAddress::Parse(e.address)) {
      e.address = ip->ToString();  // one spelling, as shaping rules are keyed
    } else {
      src.Report("address", "not an IP address: " + e.address);
    }
    if (!NormalizeDomain(e.ehlo_name)) {
      src.Report("ehlo_name", "not a host name: " + e.ehlo_name);
    }
    if (e.name.find_first_of(" \t\r\n") != std::string::npos) {
      src.Report("name", "no spaces in a source name");
    }
    const bool inline_steps = src.Has("warmup_plan") || src.Has("warmup_initial") ||
                              src.Has("warmup_growth") || src.Has("warmup_max");
    if (src.Has("warmup") && inline_steps) {
      src.Report("warmup", "either a named plan or warmup_plan/warmup_initial/... , not both");
    }
    if ((src.Has("warmup") || inline_steps) && !src.Has("warmup_start")) {
      src.Report("warmup_start", "a warm-up needs the date its day 1 begins");
    }
    if (src.Has("warmup_start")) {
      // IP warm-up: daily caps per provider from this date on.
      shaping::WarmupSchedule w;
      if (src.Has("warmup")) {
        std::string plan = src.String("warmup", "");
        auto it = plans.find(plan);
        if (it == plans.end()) {
          src.Report("warmup", "no plan [egress.warmup." + plan + "]");
        } else {
          w = it->second;
        }
      } else {
        w = BindWarmupSteps(src, "warmup_");
      }
      if (auto start = BindDate(src, "warmup_start")) {
        w.start = *start;
      }
      if (!d.egress.warmup) {
        d.egress.warmup = std::make_shared<shaping::Warmup>(warmup_day);
      }
      d.egress.warmup->SetSchedule(e.name, std::move(w));
    }
    source_index.emplace(e.name, d.egress.sources.size());
    d.egress.sources.push_back(std::move(e));
    d.egress.weights.push_back(static_cast<std::uint32_t>(src.Int("weight", 1, 1, 1000)));
  }
  st.queue.suspensions_file = (std::filesystem::path(st.spool_path) / "suspensions.state").string();
  d.shaping_state_file = (std::filesystem::path(st.spool_path) / "shaping.state").string();
  st.mta_sts_file = (std::filesystem::path(st.spool_path) / "mta-sts.policies").string();
  // Pools: named, weighted sets of sources ([[egress.pool]]).
  for (const auto& p : egress.Tables("pool")) {
    p.RejectUnknown({"name", "sources", "weights"});
    shaping::EgressPool pool;
    pool.name = p.String("name", "");
    if (pool.name.empty() ||
        std::any_of(d.egress.pools.begin(), d.egress.pools.end(),
                    [&](const auto& other) { return other.name == pool.name; })) {
      p.Report("name",
               pool.name.empty() ? "every pool needs a name" : "a second pool " + pool.name);
    }
    auto names = p.StringList("sources");
    auto weights = p.IntList("weights", 1, 1000);
    if (names.empty()) {
      p.Report("sources", "a pool needs at least one source");
    }
    if (!weights.empty() && weights.size() != names.size()) {
      p.Report("weights", "one weight per source");
    }
    for (std::size_t k = 0; k < names.size(); ++k) {
      auto it = source_index.find(names[k]);
      if (it == source_index.end()) {
        p.Report("sources", "no [[egress.source]] named " + names[k]);
        continue;
      }
      if (std::find(pool.sources.begin(), pool.sources.end(), it->second) != pool.sources.end()) {
        p.Report("sources", names[k] + " is listed twice");
        continue;
      }
      pool.sources.push_back(it->second);
      pool.weights.push_back(k < weights.size() ? static_cast<std::uint32_t>(weights[k])
                                                : d.egress.weights[it->second]);
    }
    d.egress.pools.push_back(std::move(pool));
  }
  d.egress.default_pool = egress.String("default_pool", "");
  if (!d.egress.default_pool.empty() && !HasPool(d, d.egress.default_pool)) {
    egress.Report("default_pool", "no [[egress.pool]] named " + d.egress.default_pool);
  }
}

// [tenant.NAME]: who sends as the tenant, and the pools its mail (and its
// campaigns' mail) goes out from.
void BindTenants(const config::Section& tenants, Settings& st) {
  auto& d = st.delivery;
  for (const auto& name : tenants.Keys()) {
    auto t = tenants.Table(name);
    if (!queue::ValidTag(name)) {
      tenants.Report(name, "a tenant name is 1-64 of A-Z a-z 0-9 . _ -");
      continue;
    }
    t.RejectUnknown({"users", "networks", "pool", "campaign", "domains", "max_messages_per_hour",
                     "max_messages_per_day", "intake_rate", "intake_burst", "bounce_domain",
                     "unsubscribe", "track_opens", "track_clicks"});
    if (t.Bool("unsubscribe", false)) {
      st.ingest.unsubscribe.enabled.insert(name);
    }
    BindTracking(t, name, st);
    if (t.Has("bounce_domain")) {
      const std::string text = t.String("bounce_domain", "");
      auto domain = NormalizeDomain(text);
      if (!domain || domain->empty() || domain->front() == '[') {
        t.Report("bounce_domain", "not a domain name: " + text);
      } else {
        d.verp.tenant_domains[name] = *domain;
      }
    }
    ingest::QuotaLimits quota;
    quota.per_hour = static_cast<std::uint64_t>(t.Int("max_messages_per_hour", 0, 0, INT64_MAX));
    quota.per_day = static_cast<std::uint64_t>(t.Int("max_messages_per_day", 0, 0, INT64_MAX));
    if (t.Has("intake_rate")) {
      quota.rate = shaping::ParseRate(t.String("intake_rate", ""));
      if (!quota.rate) {
        t.Report("intake_rate", "a rate such as \"50/s\", \"1000/min\" or \"20000/h\"");
      }
    }
    quota.burst = static_cast<std::uint32_t>(t.Int("intake_burst", 1, 1, 1000000));
    if (quota.per_hour != 0 || quota.per_day != 0 || quota.rate) {
      st.ingest.tenant_quotas[name] = quota;
    }
    for (const auto& text : t.StringList("domains")) {
      auto domain = NormalizeDomain(text);
      if (!domain || domain->empty() || domain->front() == '[') {
        t.Report("domains", "not a domain name: " + text);
      } else {
        st.ingest.tenant_domains[name].push_back(*domain);
      }
    }
    for (const auto& text : t.StringList("networks")) {
      if (auto net = Network::Parse(text)) {
        st.ingest.network_tenants.emplace_back(*net, name);
      } else {
        t.Report("networks", "not a network in CIDR form: " + text);
      }
    }
    for (const auto& user : t.StringList("users")) {
      if (!auth::ValidUserName(user)) {
        t.Report("users", "not a user name: " + user);
      } else if (!st.ingest.user_tenants.emplace(user, name).second) {
        t.Report("users", user + " already sends as tenant " + st.ingest.user_tenants[user]);
      }
    }
    if (t.Has("pool")) {
      std::string pool = t.String("pool", "");
      if (!HasPool(d, pool)) {
        t.Report("pool", "no [[egress.pool]] named " + pool);
      }
      d.egress.tenant_pools[name] = pool;
    }
    auto campaigns = t.Table("campaign");
    for (const auto& campaign : campaigns.Keys()) {
      auto c = campaigns.Table(campaign);
      if (!queue::ValidTag(campaign)) {
        campaigns.Report(campaign, "a campaign name is 1-64 of A-Z a-z 0-9 . _ -");
        continue;
      }
      c.RejectUnknown({"pool", "unsubscribe", "track_opens", "track_clicks"});
      if (c.Bool("unsubscribe", false)) {
        st.ingest.unsubscribe.enabled.insert(name + ":" + campaign);
      }
      BindTracking(c, name + ":" + campaign, st);
      if (!c.Has("pool")) {
        if (!c.Has("unsubscribe") && !c.Has("track_opens") && !c.Has("track_clicks")) {
          c.Report("pool",
                   "a campaign block names the pool its mail goes from (or unsubscribe, "
                   "track_opens, track_clicks)");
        }
        continue;
      }
      std::string pool = c.String("pool", "");
      if (!HasPool(d, pool)) {
        c.Report("pool", "no [[egress.pool]] named " + pool);
      }
      d.egress.campaign_pools[campaign + ":" + name] = pool;
    }
  }
}

}  // namespace

Settings Bind(const config::Document& doc) {
  Settings st;
  auto root = doc.Root();
  root.RejectUnknown(
      {"server",   "spool",       "events",   "auth",   "relay",       "listener",    "dns",
       "delivery", "queue",       "route",    "admin",  "dkim",        "egress",      "tenant",
       "api",      "http",        "webhook",  "bounce", "suppression", "unsubscribe", "reputation",
       "metrics",  "tls_reports", "tracking", "stats",  "health",      "blocklists",  "dmarc"});

  auto server = root.Table("server");
  server.RejectUnknown({"hostname", "threads", "shutdown_timeout", "log_level",
                        "reserved_descriptors", "postmaster", "postmaster_maildir",
                        "max_message_memory"});
  st.server.hostname = server.String("hostname", "localhost");
  if (!NormalizeDomain(st.server.hostname)) {
    server.Report("hostname", "not a valid host name: " + st.server.hostname);
  }
  auto hw = std::max(1u, std::thread::hardware_concurrency());
  st.threads = static_cast<std::size_t>(server.Int("threads", hw, 1, 256));
  st.shutdown_timeout = server.Duration("shutdown_timeout", st.shutdown_timeout);
  st.server.max_message_memory = server.Size("max_message_memory", st.server.max_message_memory);
  st.log_level = server.String("log_level", "info");
  st.reserved_descriptors = static_cast<std::uint32_t>(
      server.Int("reserved_descriptors", st.reserved_descriptors, 16, 1 << 20));
  if (st.log_level != "trace" && st.log_level != "debug" && st.log_level != "info" &&
      st.log_level != "warn" && st.log_level != "error") {
    server.Report("log_level", "must be trace, debug, info, warn or error");
  }

  auto spool = root.Table("spool");
  spool.RejectUnknown({"path", "min_free_disk", "min_free_memory", "memtable_size"});
  st.spool_path = spool.String("path", st.spool_path);
  st.ingest.hostname = st.server.hostname;
  st.spool_min_free_disk = spool.Size("min_free_disk", st.spool_min_free_disk);
  st.spool_memtable = spool.Size("memtable_size", st.spool_memtable);
  if (st.spool_memtable < (1u << 20) || st.spool_memtable > (1ull << 30)) {
    spool.Report("memtable_size", "must be between 1MiB and 1GiB");
  }
  st.ingest.min_free_memory = spool.Size("min_free_memory", st.ingest.min_free_memory);

  auto events = root.Table("events");
  events.RejectUnknown({"log", "history_path", "history_retention", "webhook_outbox",
                        "log_max_size", "log_max_age", "log_keep", "log_compress",
                        "log_min_free_disk"});
  auto& lo = st.event_log_options;
  lo.max_bytes = events.Size("log_max_size", lo.max_bytes);
  if (lo.max_bytes != 0 && lo.max_bytes < 4096) {
    events.Report("log_max_size", "must be 0 (no rotation by size) or at least 4KiB");
  }
  lo.max_age =
      std::chrono::duration_cast<std::chrono::seconds>(events.Duration("log_max_age", lo.max_age));
  lo.keep = static_cast<std::size_t>(
      events.Int("log_keep", static_cast<std::int64_t>(lo.keep), 0, 100000));
  lo.compress = events.Bool("log_compress", lo.compress);
  lo.min_free_disk = events.Size("log_min_free_disk", lo.min_free_disk);
  st.webhooks.outbox_path = events.String("webhook_outbox", st.webhooks.outbox_path);
  st.event_log = events.String("log", st.event_log);
  st.history_path = events.String("history_path", st.history_path);
  st.history_retention = std::chrono::duration_cast<std::chrono::hours>(
      events.Duration("history_retention", st.history_retention));
  if (st.history_retention.count() > 366 * 24) {
    events.Report("history_retention", "must be at most 366d");
  }

  BindFeedback(root, st);
  BindWebhooks(root, st);

  auto auth = root.Table("auth");
  auth.RejectUnknown({"users_file", "max_failures", "failure_window", "lockout"});
  st.users_file = auth.String("users_file", "");
  st.auth_limits.max_failures =
      static_cast<std::uint32_t>(auth.Int("max_failures", st.auth_limits.max_failures, 1, 1000));
  st.auth_limits.window = auth.Duration("failure_window", st.auth_limits.window);
  st.auth_limits.lockout = auth.Duration("lockout", st.auth_limits.lockout);

  auto relay = root.Table("relay");
  relay.RejectUnknown({"networks", "local_domains"});
  for (const auto& n : relay.StringList("networks")) {
    if (auto net = Network::Parse(n)) {
      st.server.relay_networks.push_back(*net);
    } else {
      relay.Report("networks", "not a network in CIDR form: " + n);
    }
  }
  for (const auto& d : relay.StringList("local_domains")) {
    if (auto norm = NormalizeDomain(d)) {
      st.server.local_domains.push_back(norm.value());
    } else {
      relay.Report("local_domains", "not a domain: " + d);
    }
  }
  // RFC 5321 §4.5.1: postmaster mail goes to this mailbox, or stays in the Maildir.
  if (std::string pm = server.String("postmaster", ""); !pm.empty()) {
    auto mailbox = ParseMailbox(pm);
    if (!mailbox || mailbox->utf8) {
      server.Report("postmaster", "not an ASCII mailbox (local@domain): " + pm);
    } else if (std::find(st.server.local_domains.begin(), st.server.local_domains.end(),
                         mailbox->ascii_domain) != st.server.local_domains.end()) {
      server.Report("postmaster",
                    "must be at a domain that is not in relay.local_domains "
                    "(Sluice keeps no mailboxes; it would loop): " +
                        pm);
    } else {
      st.server.postmaster = std::move(mailbox).value();
    }
  }
  st.ingest.postmaster_maildir = server.String("postmaster_maildir", st.ingest.postmaster_maildir);

  auto admin = root.Table("admin");
  admin.RejectUnknown({"socket"});
  st.admin_socket = admin.String("socket", st.admin_socket);

  auto dns = root.Table("dns");
  dns.RejectUnknown({"forwarders", "trust_anchor_file", "trust_anchors", "forward_special_use"});
  st.dns.forwarders = dns.StringList("forwarders");
  st.dns.trust_anchor_file = dns.String("trust_anchor_file", "");
  st.dns.trust_anchors = dns.StringList("trust_anchors");
  for (const auto& file : st.dns.trust_anchors) {
    if (::access(file.c_str(), R_OK) != 0) {
      dns.Report("trust_anchors", "cannot read " + file);
    }
  }
  st.dns.forward_special_use = dns.Bool("forward_special_use", st.dns.forward_special_use);

  BindDelivery(root, doc, st);

  BindDkim(root.Table("dkim"), st.dkim);

  BindEgress(root.Table("egress"), st);
  BindTenants(root.Table("tenant"), st);

  std::set<std::string> names;
  for (const auto& l : root.Tables("listener")) {
    auto ls = BindListener(l, st.server.hostname);
    if (!ls.smtp.name.empty() && !names.insert(ls.smtp.name).second) {
      l.Report("name", "duplicate listener name " + ls.smtp.name);
    }
    const auto size = ls.smtp.limits.max_message_size;
    if (st.server.max_message_memory != 0 && st.server.max_message_memory < size) {
      l.Report("max_message_size", std::to_string(size) +
                                       " is more than [server] max_message_memory (" +
                                       std::to_string(st.server.max_message_memory) +
                                       "): such a message could never be taken");
    }
    st.listeners.push_back(std::move(ls));
  }
  if (st.listeners.empty()) {
    root.Report("listener", "at least one [[listener]] is needed");
  }
  BindHttp(root, st);
  BindTlsReports(root, st);
  BindTracking(root, st);
  BindStats(root, st);
  BindHealth(root, st);
  BindBlocklists(root, st);
  BindDmarc(root, st);
  CollectFeedbackDomains(root, st);
  return st;
}

}  // namespace sluice::app
