// [bounce] and [suppression]: how replies are classified and what the
// feedback they carry does to the suppression lists (docs/config.md).
#include <algorithm>

#include "app/bounce_rules.h"
#include "app/settings.h"
#include "core/address.h"

namespace sluice::app {

namespace {

void BindTarget(const config::Section& s, std::string_view key, SuppressionPolicy::Target& out) {
  if (!s.Has(key)) {
    return;
  }
  if (!ParseTarget(s.String(key, ""), out)) {
    s.Report(key, "must be \"none\", \"global\", \"tenant\" or \"campaign\"");
  }
}

}  // namespace

void BindFeedback(const config::Section& root, Settings& st) {
  auto bounce = root.Table("bounce");
  bounce.RejectUnknown({"rules", "domain", "verp_secret_file", "unparsed_maildir"});
  st.feedback_unparsed_maildir = bounce.String("unparsed_maildir", st.feedback_unparsed_maildir);
  if (bounce.Has("domain")) {
    const std::string text = bounce.String("domain", "");
    auto domain = NormalizeDomain(text);
    if (!domain || domain->empty() || domain->front() == '[') {
      bounce.Report("domain", "not a domain name: " + text);
    } else {
      st.delivery.verp.default_domain = *domain;
    }
  }
  st.verp_secret_file = bounce.String("verp_secret_file", st.verp_secret_file);
  st.bounce_rules = bounce.String("rules", st.bounce_rules);
  if (auto classifier = LoadBounceRules(st.bounce_rules)) {
    st.bounce_classifier = std::move(classifier).value();
  } else {
    std::string why = classifier.error();  // one line: its errors joined
    while (!why.empty() && why.back() == '\n') {
      why.pop_back();
    }
    std::replace(why.begin(), why.end(), '\n', ';');
    bounce.Report("rules", why);
  }

  auto unsub = root.Table("unsubscribe");
  unsub.RejectUnknown({"url"});
  st.ingest.unsubscribe.url = unsub.String("url", "");
  const std::string& url = st.ingest.unsubscribe.url;
  if (!url.empty() && (url.rfind("https://", 0) != 0 || url.size() <= 8 ||
                       url.find_first_of(" <>\"\r\n,") != std::string::npos)) {
    unsub.Report("url", "an https:// URL the token is appended to (RFC 8058 §3.1)");
  }

  auto rep = root.Table("reputation");
  rep.RejectUnknown({"window", "min_deliveries", "complaint_rate", "bounce_rate",
                     "suspend_campaigns", "suspend_tenants", "suspend_for"});
  auto& r = st.reputation;
  r.rates.window =
      std::chrono::duration_cast<std::chrono::seconds>(rep.Duration("window", r.rates.window));
  if (r.rates.window < std::chrono::minutes(1) || r.rates.window > std::chrono::hours(24 * 30)) {
    rep.Report("window", "must be between 1m and 30d");
  }
  r.rates.min_deliveries = static_cast<std::uint64_t>(
      rep.Int("min_deliveries", static_cast<std::int64_t>(r.rates.min_deliveries), 1, INT64_MAX));
  r.rates.complaint_rate = rep.Double("complaint_rate", r.rates.complaint_rate, 0.0, 1.0);
  r.rates.bounce_rate = rep.Double("bounce_rate", r.rates.bounce_rate, 0.0, 1.0);
  r.suspend_campaigns = rep.Bool("suspend_campaigns", r.suspend_campaigns);
  r.suspend_tenants = rep.Bool("suspend_tenants", r.suspend_tenants);
  r.suspend_for =
      std::chrono::duration_cast<std::chrono::seconds>(rep.Duration("suspend_for", r.suspend_for));
  if (r.suspend_for < std::chrono::minutes(1) || r.suspend_for > std::chrono::hours(24 * 366)) {
    rep.Report("suspend_for", "must be between 1m and 366d");
  }

  auto sup = root.Table("suppression");
  sup.RejectUnknown({"path", "cache_size", "refuse", "hard_bounce", "complaint", "unsubscribe",
                     "soft_classes", "soft_expiry"});
  auto& store = st.suppression_store;
  store.path = sup.String("path", store.path);
  store.cache_bytes = sup.Size("cache_size", store.cache_bytes);
  if (store.cache_bytes < (1u << 20) || store.cache_bytes > (16ull << 30)) {
    sup.Report("cache_size", "must be between 1MiB and 16GiB");
  }
  st.ingest.refuse_suppressed = sup.Bool("refuse", st.ingest.refuse_suppressed);
  auto& p = st.suppression_policy;
  BindTarget(sup, "hard_bounce", p.hard_bounce);
  BindTarget(sup, "complaint", p.complaint);
  BindTarget(sup, "unsubscribe", p.unsubscribe);
  if (sup.Has("soft_classes")) {
    p.soft_classes = sup.StringList("soft_classes");
    for (const auto& c : p.soft_classes) {
      if (!bounce::ValidClass(c)) {
        sup.Report("soft_classes", "not a bounce class: " + c);
      }
    }
  }
  p.soft_expiry =
      std::chrono::duration_cast<std::chrono::seconds>(sup.Duration("soft_expiry", p.soft_expiry));
  if (p.soft_expiry < std::chrono::minutes(1) || p.soft_expiry > std::chrono::hours(24 * 366)) {
    sup.Report("soft_expiry", "must be between 1m and 366d");
  }
}

void CollectFeedbackDomains(const config::Section& root, Settings& st) {
  auto& domains = st.server.feedback_domains;
  const auto& verp = st.delivery.verp;
  if (!verp.default_domain.empty()) {
    domains.push_back(verp.default_domain);
  }
  for (const auto& [tenant, domain] : verp.tenant_domains) {
    if (std::find(domains.begin(), domains.end(), domain) == domains.end()) {
      domains.push_back(domain);
    }
  }
  // The rua addresses' domains ([dmarc]) take mail the same way.
  for (const auto& a : st.dmarc.addresses) {
    const std::string domain = a.substr(a.rfind('@') + 1);
    if (std::find(domains.begin(), domains.end(), domain) == domains.end()) {
      domains.push_back(domain);
    }
  }
  st.ingest.feedback_domains = domains;
  st.ingest.unsubscribe.mailto_domains = verp.tenant_domains;
  if (!verp.default_domain.empty()) {
    st.ingest.unsubscribe.mailto_domains[""] = verp.default_domain;
  }
  for (const auto& d : domains) {
    const auto& local = st.server.local_domains;
    if (std::find(local.begin(), local.end(), d) != local.end()) {
      root.Table("bounce").Report("domain", d + " is also in relay.local_domains: a bounce "
                                                "domain is its own");
    }
  }
}

}  // namespace sluice::app
