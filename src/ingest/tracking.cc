// Open and click tracking as mail is taken (ingest::Options::Tracking).
#include <algorithm>

#include "ingest/ingest.h"

namespace sluice::ingest {

void Ingest::ApplyTracking(const smtp::SessionInfo& session, const SpoolId& id,
                           const std::string& tenant, const std::string& campaign,
                           const Envelope& envelope, std::string& data,
                           std::chrono::system_clock::time_point now) const {
  const auto& t = opts_.tracking;
  if (t.settings.base_url.empty() || t.settings.secret.empty() || envelope.recipients.size() != 1) {
    return;
  }
  const auto enabled = [&](const std::set<std::string>& set) {
    return set.contains(tenant) || (!campaign.empty() && set.contains(tenant + ":" + campaign));
  };
  const bool opens = session.track_opens || enabled(t.opens);
  const bool clicks = session.track_clicks || enabled(t.clicks);
  if (!opens && !clicks) {
    return;
  }
  tracking::Hit hit;
  hit.id = id;
  hit.recipient = envelope.recipients.front().address.ToString();
  hit.tenant = tenant;
  hit.campaign = campaign;
  // Mail scheduled for later counts from then (machine hits come soon after).
  hit.sent = std::max<std::int64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count(),
      session.send_at_us / 1000000);
  data = tracking::Track(data, hit, opens, clicks, t.settings);
}

}  // namespace sluice::ingest
