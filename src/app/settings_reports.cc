// [tls_reports]: the RFC 8460 reports Sluice sends about its outbound TLS
// sessions; [tracking]: opens and clicks; [stats]: counters over time
// (docs/config.md).
#include <filesystem>

#include "app/settings.h"
#include "core/address.h"

namespace sluice::app {

void BindTlsReports(const config::Section& root, Settings& st) {
  auto s = root.Table("tls_reports");
  s.RejectUnknown({"enabled", "submitter", "organization", "contact", "from"});
  auto& r = st.tls_reports;
  r.enabled = s.Bool("enabled", r.enabled);
  auto& who = r.options.who;
  const std::string submitter = s.String("submitter", st.delivery.client.ehlo_name);
  if (auto d = NormalizeDomain(submitter); d && !d->empty() && d->front() != '[') {
    who.submitter = *d;
  } else {
    s.Report("submitter", "not a domain name: " + submitter);
  }
  who.organization = s.String("organization", who.submitter);
  who.contact = s.String("contact", "postmaster@" + who.submitter);
  r.options.from = s.String("from", "noreply-tls-reports@" + who.submitter);
  if (!ParseMailbox(r.options.from)) {
    s.Report("from", "not a mail address: " + r.options.from);
  }
  for (const auto* text : {&who.organization, &who.contact}) {
    if (text->empty() || text->find_first_of("\r\n") != std::string::npos) {
      s.Report(text == &who.organization ? "organization" : "contact", "must be one line of text");
    }
  }
  r.state_file = (std::filesystem::path(st.spool_path) / "tls-reports.state").string();
}

void BindTracking(const config::Section& root, Settings& st) {
  auto s = root.Table("tracking");
  s.RejectUnknown({"base_url", "too_soon"});
  auto& t = st.ingest.tracking.settings;
  std::string url = s.String("base_url", "");
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  const auto scheme = url.find("://");
  if (!url.empty() &&
      (scheme == std::string::npos ||
       (url.substr(0, scheme) != "https" && url.substr(0, scheme) != "http") ||
       url.size() == scheme + 3 || url.find_first_of(" \t\r\n\"<>'?#") != std::string::npos)) {
    s.Report("base_url", "an http(s):// URL the HTTP listener answers at (\"/t/...\" is added)");
  } else {
    t.base_url = url;
  }
  st.tracking_too_soon = std::chrono::duration_cast<std::chrono::seconds>(
      s.Duration("too_soon", st.tracking_too_soon));
  // Links to the unsubscribe page are left alone.
  t.skip_prefix = st.ingest.unsubscribe.url;
}

void BindTracking(const config::Section& s, const std::string& who, Settings& st) {
  if (s.Bool("track_opens", false)) {
    st.ingest.tracking.opens.insert(who);
  }
  if (s.Bool("track_clicks", false)) {
    st.ingest.tracking.clicks.insert(who);
  }
}

void BindStats(const config::Section& root, Settings& st) {
  auto s = root.Table("stats");
  s.RejectUnknown({"enabled", "path", "minute_retention", "hour_retention", "day_retention",
                   "max_domains", "max_campaigns"});
  auto& o = st.stats.store;
  st.stats.enabled = s.Bool("enabled", st.stats.enabled);
  o.path = s.String("path", o.path);
  if (o.path.empty()) {
    s.Report("path", "must name a directory");
  }
  auto retention = [&s](const char* key, std::chrono::hours& value, std::chrono::hours min,
                        std::chrono::hours max, const char* bounds) {
    value = std::chrono::duration_cast<std::chrono::hours>(s.Duration(key, value));
    if (value < min || value > max) {
      s.Report(key, bounds);
    }
  };
  using std::chrono::hours;
  retention("minute_retention", o.minute_retention, hours(1), hours(31 * 24), "must be 1h to 31d");
  retention("hour_retention", o.hour_retention, hours(24), hours(3 * 366 * 24),
            "must be 1d to 1098d");
  retention("day_retention", o.day_retention, hours(24), hours(10 * 366 * 24),
            "must be 1d to 3660d");
  o.max_domains = static_cast<std::size_t>(
      s.Int("max_domains", static_cast<std::int64_t>(o.max_domains), 1, 100000));
  o.max_campaigns = static_cast<std::size_t>(
      s.Int("max_campaigns", static_cast<std::int64_t>(o.max_campaigns), 1, 100000));
}

}  // namespace sluice::app
