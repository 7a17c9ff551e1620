// Ingest's side of the suppression lists: refusing at RCPT, dropping at the
// end of data. Security: only mail we originate is checked (relay clients,
// authenticated users, the HTTP API); mail to us is not.
#include <spdlog/spdlog.h>

#include "ingest/ingest.h"

namespace sluice::ingest {

namespace {

events::Suppressed MakeEvent(const smtp::SessionInfo& session, const std::string& sender,
                             const std::string& recipient, const suppression::Entry& e) {
  events::Suppressed ev;
  ev.sender = sender;
  ev.recipient = recipient;
  ev.listener = session.listener;
  ev.client_ip = session.client_ip;
  ev.entry = e.address;
  ev.scope = suppression::Describe(e.scope);
  ev.reason = suppression::ToString(e.reason);
  ev.timestamp = std::chrono::system_clock::now();
  return ev;
}

}  // namespace

std::optional<smtp::Reply> Ingest::CheckRecipient(const smtp::SessionInfo& session,
                                                  const Address& sender, const Address& rcpt) {
  // The API always answers per recipient; SMTP refuses here only if so configured.
  const bool api = !session.protocol.empty();
  if (suppression_ == nullptr || !session.Trusted() || (!api && !opts_.refuse_suppressed) ||
      rcpt.IsBarePostmaster()) {
    return std::nullopt;
  }
  std::string tenant = session.tenant;
  if (tenant.empty()) {
    if (const std::string* configured = ConfiguredTenant(session)) {
      tenant = *configured;
    }
  }
  const auto now = std::chrono::system_clock::now();
  auto hit = suppression_->Find(suppression::Key(rcpt), tenant, session.campaign, now);
  if (!hit) {
    return std::nullopt;
  }
  events::Suppressed ev = MakeEvent(session, sender.ToString(), rcpt.ToString(), *hit);
  ev.tenant = std::move(tenant);
  ev.campaign = session.campaign;
  ev.refused = true;
  bus_.Publish(ev);
  return smtp::Reply{550, "5.7.1",
                     "Recipient address is suppressed (" + ev.reason + ", " + ev.scope + " list)"};
}

void Ingest::DropSuppressed(const smtp::SessionInfo& session, const std::string& id_hex,
                            const std::string& tenant, const std::string& campaign,
                            Envelope& envelope, std::vector<std::string>& listed) {
  if (suppression_ == nullptr) {
    return;
  }
  const auto now = std::chrono::system_clock::now();
  const std::string sender = envelope.sender.ToString();
  std::erase_if(envelope.recipients, [&](const Recipient& r) {
    auto hit = suppression_->Find(suppression::Key(r.address), tenant, campaign, now);
    if (!hit) {
      return false;
    }
    const std::string rcpt = r.address.ToString();
    events::Suppressed ev = MakeEvent(session, sender, rcpt, *hit);
    ev.id = id_hex;
    ev.tenant = tenant;
    ev.campaign = campaign;
    bus_.Publish(ev);
    if (auto it = std::find(listed.begin(), listed.end(), rcpt); it != listed.end()) {
      listed.erase(it);
    }
    return true;
  });
}

}  // namespace sluice::ingest
