#include "shaping/rules.h"

#include <regex>

#include <fmt/format.h>

#include "core/network.h"

namespace sluice::shaping {

struct CompiledPattern {
  std::regex re;
};

namespace {

bool SuffixMatches(const std::string& host, const std::string& suffix) {
  if (suffix.empty()) {
    return false;
  }
  // ".google.com" matches "aspmx.l.google.com"; "google.com" also matches itself.
  std::string s = suffix.front() == '.' ? suffix.substr(1) : suffix;
  return host == s ||
         (host.size() > s.size() && host.compare(host.size() - s.size(), s.size(), s) == 0 &&
          host[host.size() - s.size() - 1] == '.');
}

}  // namespace

void Layer(Effective& e, const Settings& s, const std::string& origin) {
  auto take = [&](auto& field, const auto& value, const char* name) {
    if (value) {
      field = *value;
      e.origin[name] = origin;
    }
  };
  take(e.connection_limit, s.connection_limit, "connection_limit");
  if (s.max_connection_rate) {
    e.max_connection_rate = s.max_connection_rate;
    e.origin["max_connection_rate"] = origin;
  }
  if (s.max_message_rate) {
    e.max_message_rate = s.max_message_rate;
    e.origin["max_message_rate"] = origin;
  }
  take(e.max_deliveries_per_connection, s.max_deliveries_per_connection,
       "max_deliveries_per_connection");
  take(e.max_recipients_per_transaction, s.max_recipients_per_transaction,
       "max_recipients_per_transaction");
  take(e.idle_timeout, s.idle_timeout, "idle_timeout");
  take(e.tls, s.tls, "tls");
  auto retry = [&](auto& field, const auto& value, const char* name) {
    if (value) {
      field = value;
      e.origin[name] = origin;
    }
  };
  retry(e.retry.first_retry, s.first_retry, "first_retry");
  retry(e.retry.max_retry_interval, s.max_retry_interval, "max_retry_interval");
  retry(e.retry.backoff_factor, s.backoff_factor, "backoff_factor");
  retry(e.retry.max_age, s.max_age, "max_age");
}

namespace {

void LayerBlock(Effective& e, const Block& b, const std::string& origin, std::string_view source) {
  Layer(e, b.settings, origin);
  for (const auto& a : b.automation) {
    e.automation.push_back(&a);
  }
  if (!source.empty()) {
    // Keys are canonical (one spelling per IPv6 address); so is the lookup.
    auto ip = IpAddress::Parse(source);
    const std::string key = ip ? ip->ToString() : std::string(source);
    auto it = b.by_source.find(key);
    if (it != b.by_source.end()) {
      Layer(e, it->second, origin + " source " + key);
    }
  }
}

}  // namespace

const char* ToString(Action a) {
  switch (a) {
    case Action::kSuspend:
      return "suspend";
    case Action::kLimit:
      return "limit";
    case Action::kBounce:
      return "bounce";
  }
  return "suspend";
}

const char* ToString(Scope s) {
  switch (s) {
    case Scope::kPath:
      return "path";
    case Scope::kTenant:
      return "tenant";
    case Scope::kCampaign:
      return "campaign";
  }
  return "path";
}

bool Matches(const Automation& a, int code, std::string_view enhanced, std::string_view text) {
  if (a.code && (a.code_class ? code / 100 != *a.code / 100 : code != *a.code)) {
    return false;
  }
  if (!a.enhanced_prefix.empty() &&
      enhanced.substr(0, a.enhanced_prefix.size()) != std::string_view(a.enhanced_prefix)) {
    return false;
  }
  if (a.compiled) {
    // Only failure replies get here, so a regular expression is affordable.
    return std::regex_search(text.begin(), text.end(), a.compiled->re);
  }
  return a.pattern.empty();
}

bool CompilePattern(Automation& a, std::string* why) {
  if (a.pattern.empty()) {
    a.compiled.reset();
    return true;
  }
  try {
    a.compiled = std::make_shared<const CompiledPattern>(
        CompiledPattern{std::regex(a.pattern, std::regex::ECMAScript | std::regex::icase)});
    return true;
  } catch (const std::regex_error& e) {
    if (why != nullptr) {
      *why = e.what();
    }
    return false;
  }
}

const char* ToString(Tls t) {
  switch (t) {
    case Tls::kDisabled:
      return "disabled";
    case Tls::kOpportunistic:
      return "opportunistic";
    case Tls::kRequired:
      return "required";
    case Tls::kVerify:
      return "verify";
    case Tls::kDane:
      return "dane";
    case Tls::kMtaSts:
      return "mta-sts";
  }
  return "opportunistic";
}

std::optional<Tls> ParseTls(std::string_view text) {
  for (Tls t : {Tls::kDisabled, Tls::kOpportunistic, Tls::kRequired, Tls::kVerify, Tls::kDane,
                Tls::kMtaSts}) {
    if (text == ToString(t)) {
      return t;
    }
  }
  return std::nullopt;
}

const Provider* MatchProvider(const Rules& rules, const std::vector<std::string>& mx_hosts) {
  for (const auto& p : rules.providers) {
    for (const auto& suffix : p.mx_suffixes) {
      for (const auto& h : mx_hosts) {
        if (SuffixMatches(h, suffix)) {
          return &p;
        }
      }
    }
  }
  return nullptr;
}

Effective Resolve(const Rules& rules, const Effective& builtin, std::string_view domain,
                  const std::vector<std::string>& mx_hosts, std::string_view source) {
  Effective e = builtin;
  for (const char* name :
       {"connection_limit", "max_connection_rate", "max_message_rate",
        "max_deliveries_per_connection", "max_recipients_per_transaction", "idle_timeout", "tls"}) {
    e.origin.emplace(name, "built-in ([delivery])");
  }
  for (const char* name : {"first_retry", "max_retry_interval", "backoff_factor", "max_age"}) {
    e.origin.emplace(name, "built-in ([queue])");
  }
  LayerBlock(e, rules.defaults, "default", source);
  if (const Provider* p = MatchProvider(rules, mx_hosts)) {
    e.provider = p->name;
    LayerBlock(e, p->block, "provider " + p->name, source);
  }
  auto d = rules.domains.find(std::string(domain));
  if (d != rules.domains.end()) {
    LayerBlock(e, d->second, "domain " + d->first, source);
  }
  return e;
}

std::vector<ExplainedOption> ExplainOptions(const Effective& e) {
  std::vector<ExplainedOption> out;
  auto add = [&](const char* name, std::string value) {
    auto it = e.origin.find(name);
    out.push_back({name, std::move(value), it == e.origin.end() ? "built-in" : it->second});
  };
  add("connection_limit", std::to_string(e.connection_limit));
  add("max_connection_rate", e.max_connection_rate ? e.max_connection_rate->text : "unlimited");
  add("max_message_rate", e.max_message_rate ? e.max_message_rate->text : "unlimited");
  add("max_deliveries_per_connection", std::to_string(e.max_deliveries_per_connection));
  add("max_recipients_per_transaction", std::to_string(e.max_recipients_per_transaction));
  add("idle_timeout", fmt::format("{}ms", e.idle_timeout.count()));
  add("tls", ToString(e.tls));
  auto ms = [](const std::optional<std::chrono::milliseconds>& d) {
    return d ? fmt::format("{}ms", d->count()) : std::string("[queue]");
  };
  add("first_retry", ms(e.retry.first_retry));
  add("max_retry_interval", ms(e.retry.max_retry_interval));
  add("backoff_factor",
      e.retry.backoff_factor ? fmt::format("{}", *e.retry.backoff_factor) : "[queue]");
  add("max_age", ms(e.retry.max_age));
  return out;
}

std::vector<std::pair<std::string, std::string>> ExplainAutomation(const Effective& e) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto* a : e.automation) {
    const bool scoped = a->action == Action::kSuspend && a->scope != Scope::kPath;
    out.emplace_back(a->name, fmt::format("{}{}{} for {}ms", ToString(a->action), scoped ? " " : "",
                                          scoped ? ToString(a->scope) : "", a->duration.count()));
  }
  return out;
}

std::string Explain(const Effective& e) {
  std::string out;
  for (const auto& o : ExplainOptions(e)) {
    out += fmt::format("{:<31} {:<16} ({})\n", o.name, o.value, o.origin);
  }
  for (const auto& [name, effect] : ExplainAutomation(e)) {
    out += fmt::format("automation {:<20} {}\n", name, effect);
  }
  return out;
}

}  // namespace sluice::shaping
