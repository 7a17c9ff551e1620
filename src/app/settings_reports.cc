// [tls_reports]: the RFC 8460 reports Sluice sends about its outbound TLS
// sessions (docs/config.md).
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

}  // namespace sluice::app
