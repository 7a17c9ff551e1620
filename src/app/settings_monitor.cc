// [health]: the sending domains' DNS checked on a schedule.
#include <chrono>

#include "app/settings.h"
#include "core/address.h"

namespace sluice::app {

void BindHealth(const config::Section& root, Settings& st) {
  auto s = root.Table("health");
  s.RejectUnknown({"enabled", "interval", "rotation_notice", "domains"});
  auto& h = st.health;
  h.enabled = s.Bool("enabled", h.enabled);
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  h.interval = duration_cast<seconds>(s.Duration("interval", h.interval));
  if (h.interval < seconds(1) || h.interval > std::chrono::hours(24 * 7)) {
    s.Report("interval", "must be 1s to 7d (an hour suits most: DNS changes slowly)");
  }
  h.rotation_notice = duration_cast<seconds>(s.Duration("rotation_notice", h.rotation_notice));
  if (h.rotation_notice < seconds(0) || h.rotation_notice > std::chrono::hours(24 * 366)) {
    s.Report("rotation_notice", "must be 0s to 366d");
  }
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

}  // namespace sluice::app
