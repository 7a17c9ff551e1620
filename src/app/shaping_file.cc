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
  if (s.Has("first_retry")) {
    o.first_retry = s.Duration("first_retry", std::chrono::minutes(5));
  }
  if (s.Has("max_retry_interval")) {
    o.max_retry_interval = s.Duration("max_retry_interval", std::chrono::hours(4));
  }
  if (s.Has("backoff_factor")) {
    o.backoff_factor = s.Double("backoff_factor", 2.0, 1.0, 100.0);
  }
  if (s.Has("max_age")) {
    o.max_age = s.Duration("max_age", std::chrono::hours(120));
  }
  if (s.Has("tls")) {
    o.tls = shaping::ParseTls(s.String("tls", ""));
    if (!o.tls) {
      s.Report("tls", shaping::kTlsChoices);
    }
  }
  return o;
}

constexpr std::string_view kOptions[] = {"connection_limit",
                                         "max_connection_rate",
                                         "max_message_rate",
                                         "max_deliveries_per_connection",
                                         "max_recipients_per_transaction",
                                         "idle_timeout",
                                         "tls",
                                         "first_retry",
                                         "max_retry_interval",
                                         "backoff_factor",
                                         "max_age"};

void CheckKnown(const config::Section& s, bool block, bool provider) {
  std::vector<std::string_view> known(std::begin(kOptions), std::end(kOptions));
  if (block) {
    known.push_back("source");
    known.push_back("automation");
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

std::vector<shaping::Automation> BindAutomation(const config::Section& block,
                                                const std::string& owner) {
  std::vector<shaping::Automation> out;
  auto list = block.Tables("automation");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& s = list[i];
    s.RejectUnknown({"name", "code", "enhanced", "match", "action", "scope", "duration", "trigger",
                     "connection_limit", "max_message_rate"});
    shaping::Automation a;
    a.name = s.String("name", owner + " #" + std::to_string(i + 1));
    if (s.Has("code")) {
      a.code = static_cast<int>(s.Int("code", 421, 200, 599));
    }
    a.enhanced_prefix = s.String("enhanced", "");
    a.pattern = s.String("match", "");
    std::string why;
    if (!shaping::CompilePattern(a, &why)) {
      s.Report("match", "not a valid regular expression: " + why);
    }
    if (!a.code && a.enhanced_prefix.empty() && a.pattern.empty()) {
      s.Report("match", "a rule needs code, enhanced or match (else it matches every reply)");
    }
    std::string action = s.String("action", "suspend");
    if (action == "suspend") {
      a.action = shaping::Action::kSuspend;
    } else if (action == "limit") {
      a.action = shaping::Action::kLimit;
      a.limit = BindSettings(s);
      if (!a.limit.connection_limit && !a.limit.max_message_rate) {
        s.Report("action", "\"limit\" needs connection_limit or max_message_rate");
      }
    } else if (action == "bounce") {
      a.action = shaping::Action::kBounce;
    } else {
      s.Report("action", "must be \"suspend\", \"limit\" or \"bounce\"");
    }
    std::string scope = s.String("scope", "path");
    if (scope == "tenant") {
      a.scope = shaping::Scope::kTenant;
    } else if (scope == "campaign") {
      a.scope = shaping::Scope::kCampaign;
    } else if (scope != "path") {
      s.Report("scope", "must be \"path\", \"tenant\" or \"campaign\"");
    }
    if (a.scope != shaping::Scope::kPath && a.action != shaping::Action::kSuspend) {
      s.Report("scope", "only a \"suspend\" acts on a tenant or campaign");
    }
    a.duration = s.Duration("duration", a.duration);
    std::string trigger = s.String("trigger", "immediate");
    if (trigger != "immediate") {
      auto slash = trigger.find('/');
      auto rate = shaping::ParseRate(trigger);
      std::uint32_t n = 0;
      if (rate && slash != std::string::npos) {
        try {
          n = static_cast<std::uint32_t>(std::stoul(trigger.substr(0, slash)));
        } catch (const std::exception&) {
          n = 0;
        }
      }
      if (n == 0) {
        s.Report("trigger", "\"immediate\" or a count in a window, such as \"3/hr\"");
      } else {
        a.threshold = n;
        a.window =
            std::chrono::milliseconds(static_cast<std::int64_t>(1000.0 * n / rate->per_second));
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

shaping::Block BindBlock(const config::Section& s, bool provider, const std::string& owner) {
  CheckKnown(s, true, provider);
  shaping::Block b;
  b.settings = BindSettings(s);
  b.automation = BindAutomation(s, owner);
  auto sources = s.Table("source");
  for (const auto& ip : sources.Keys()) {
    auto parsed = IpAddress::Parse(ip);
    if (!parsed) {
      sources.Report(ip, "not an IP address");
      continue;
    }
    auto one = sources.Table(ip);
    CheckKnown(one, false, false);
    if (!b.by_source.emplace(parsed->ToString(), BindSettings(one)).second) {
      sources.Report(ip, "the same address as another source block");
    }
  }
  return b;
}

}  // namespace

shaping::Rules BindShapingRules(const config::Document& doc) {
  shaping::Rules rules;
  auto root = doc.Root();
  root.RejectUnknown({"default", "provider", "domain"});
  rules.defaults = BindBlock(root.Table("default"), false, "default");
  auto providers = root.Table("provider");
  for (const auto& name : providers.Keys()) {
    auto p = providers.Table(name);
    if (name.empty() || name.find_first_of(" \t\r\n") != std::string::npos) {
      providers.Report(name, "a provider name has no spaces");
      continue;
    }
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
    prov.block = BindBlock(p, true, "provider " + name);
    rules.providers.push_back(std::move(prov));
  }
  auto domains = root.Table("domain");
  for (const auto& name : domains.Keys()) {
    auto norm = NormalizeDomain(name);
    if (!norm) {
      domains.Report(name, "not a domain");
      continue;
    }
    rules.domains[norm.value()] = BindBlock(domains.Table(name), false, "domain " + norm.value());
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
  config::Errors errors;
  LoadedRules out;
  out.rules = LoadShapingFile(path, errors);
  out.errors = errors.ToString();
  return out;
}

}  // namespace sluice::app
