#include "app/shaping_file.h"

#include <algorithm>
#include <iterator>

#include "core/address.h"
#include "core/network.h"

namespace sluice::app {
namespace {

std::optional<shaping::Rate> BindRate(const config::Section& s, std::string_view key) {
  if (!s.Has(key)) {
    return std::nullopt;
  }
  std::string text = s.String(key, "");
  auto r = shaping::ParseRate(text);
  if (!r) {
    s.Report(key, "expected a rate such as \"300/min\" (per s, min, h or day)");
  }
  return r;
}

shaping::Settings BindSettings(const config::Section& s) {
  shaping::Settings o;
  if (s.Has("connection_limit")) {
    o.connection_limit = static_cast<std::uint32_t>(s.Int("connection_limit", 1, 1, 10000));
  }
  o.max_connection_rate = BindRate(s, "max_connection_rate");
  o.max_message_rate = BindRate(s, "max_message_rate");
  if (s.Has("max_deliveries_per_connection")) {
    o.max_deliveries_per_connection =
        static_cast<std::uint32_t>(s.Int("max_deliveries_per_connection", 1, 1, 1000000));
  }
  if (s.Has("max_recipients_per_transaction")) {
    o.max_recipients_per_transaction =
        static_cast<std::uint32_t>(s.Int("max_recipients_per_transaction", 1, 1, 100000));
  }
  if (s.Has("idle_timeout")) {
    o.idle_timeout = s.Duration("idle_timeout", std::chrono::seconds(5));
  }
  if (s.Has("tls")) {
    std::string tls = s.String("tls", "");
    if (tls == "disabled") {
      o.tls = shaping::Tls::kDisabled;
    } else if (tls == "opportunistic") {
      o.tls = shaping::Tls::kOpportunistic;
    } else if (tls == "required") {
      o.tls = shaping::Tls::kRequired;
    } else {
      s.Report("tls", "must be \"disabled\", \"opportunistic\" or \"required\"");
    }
  }
  return o;
}

constexpr std::string_view kOptions[] = {
    "connection_limit", "max_connection_rate", "max_message_rate",
    "max_deliveries_per_connection", "max_recipients_per_transaction", "idle_timeout", "tls"};

void CheckKnown(const config::Section& s, bool block, bool provider) {
  std::vector<std::string_view> known(std::begin(kOptions), std::end(kOptions));
  if (block) {
    known.push_back("source");
  }
  if (provider) {
    known.push_back("mx_suffixes");
  }
  for (const auto& k : s.Keys()) {
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      s.Report(k, "unknown option");
    }
  }
}

shaping::Block BindBlock(const config::Section& s, bool provider) {
  CheckKnown(s, true, provider);
  shaping::Block b;
  b.settings = BindSettings(s);
  auto sources = s.Table("source");
  for (const auto& ip : sources.Keys()) {
    if (!IpAddress::Parse(ip)) {
      sources.Report(ip, "not an IP address");
      continue;
    }
    auto one = sources.Table(ip);
    CheckKnown(one, false, false);
    b.by_source[ip] = BindSettings(one);
  }
  return b;
}

}  // namespace

shaping::Rules BindShapingRules(const config::Document& doc) {
  shaping::Rules rules;
  auto root = doc.Root();
  root.RejectUnknown({"default", "provider", "domain"});
  rules.defaults = BindBlock(root.Table("default"), false);
  auto providers = root.Table("provider");
  for (const auto& name : providers.Keys()) {
    auto p = providers.Table(name);
    shaping::Provider prov;
    prov.name = name;
    for (auto suffix : p.StringList("mx_suffixes")) {
      for (char& c : suffix) {
        c = static_cast<char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
      }
      if (suffix.empty() || suffix == ".") {
        p.Report("mx_suffixes", "an empty suffix would match every host");
        continue;
      }
      prov.mx_suffixes.push_back(suffix);
    }
    if (prov.mx_suffixes.empty()) {
      p.Report("mx_suffixes", "a provider needs at least one MX host suffix");
    }
    prov.block = BindBlock(p, true);
    rules.providers.push_back(std::move(prov));
  }
  auto domains = root.Table("domain");
  for (const auto& name : domains.Keys()) {
    auto norm = NormalizeDomain(name);
    if (!norm) {
      domains.Report(name, "not a domain");
      continue;
    }
    rules.domains[norm.value()] = BindBlock(domains.Table(name), false);
  }
  return rules;
}

std::shared_ptr<const shaping::Rules> LoadShapingFile(const std::string& path,
                                                      config::Errors& errors) {
  auto doc = config::Document::LoadFile(path);
  shaping::Rules rules;
  if (doc->errors().empty()) {
    rules = BindShapingRules(*doc);
  }
  if (!doc->errors().empty()) {
    for (const auto& e : doc->errors().list()) {
      errors.Add(e);
    }
    return nullptr;
  }
  return std::make_shared<const shaping::Rules>(std::move(rules));
}

LoadedRules LoadShapingRules(const std::string& path) {
  LoadedRules out;
  auto doc = config::Document::LoadFile(path);
  shaping::Rules rules;
  if (doc->errors().empty()) {
    rules = BindShapingRules(*doc);
  }
  if (!doc->errors().empty()) {
    out.errors = doc->errors().ToString();
    return out;
  }
  out.rules = std::make_shared<const shaping::Rules>(std::move(rules));
  return out;
}

}  // namespace sluice::app
