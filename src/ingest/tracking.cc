// Open and click tracking as mail is taken (ingest::Options::Tracking).
#include <algorithm>

#include "ingest/ingest.h"
#include "message/headers.h"

namespace sluice::ingest {

namespace {

bool Enabled(const std::set<std::string>& set, const std::string& tenant,
             const std::string& campaign) {
  return set.contains(tenant) || (!campaign.empty() && set.contains(tenant + ":" + campaign));
}

}  // namespace

bool Ingest::WantsTracking(const smtp::SessionInfo& session, const std::string& tenant,
                           const std::string& campaign, const Envelope& envelope,
                           const std::string& data) const {
  const auto& t = opts_.tracking;
  if (t.settings.base_url.empty() || t.settings.secret.empty() || envelope.recipients.size() != 1) {
    return false;
  }
  if (!session.track_opens && !session.track_clicks && !Enabled(t.opens, tenant, campaign) &&
      !Enabled(t.clicks, tenant, campaign)) {
    return false;
  }
  // Mail its sender signed already: rewriting would break the signature.
  return !message::HasField(data, "DKIM-Signature");
}

void Ingest::ApplyTracking(const smtp::SessionInfo& session, const SpoolId& id,
                           const std::string& tenant, const std::string& campaign,
                           const Envelope& envelope, std::string& data,
                           std::chrono::system_clock::time_point now) const {
  const auto& t = opts_.tracking;
  const bool opens = session.track_opens || Enabled(t.opens, tenant, campaign);
  const bool clicks = session.track_clicks || Enabled(t.clicks, tenant, campaign);
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
