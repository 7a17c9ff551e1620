// Ingest's side of the suppression lists: refusing at RCPT, dropping at the
// end of data, and the List-Unsubscribe fields that let recipients join them.
// Security: only mail we originate is checked (relay clients, authenticated
// users, the HTTP API); mail to us is not.
// Standards: RFC 2369 §3.2 (List-Unsubscribe), RFC 8058 §3 (one-click).
#include <spdlog/spdlog.h>

#include "bounce/verp.h"
#include "ingest/ingest.h"
#include "message/headers.h"

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

void Ingest::DropSuppressed(const smtp::SessionInfo& session, const MessageTags& message,
                            Envelope& envelope, std::vector<std::string>& listed) {
  if (suppression_ == nullptr) {
    return;
  }
  const auto now = std::chrono::system_clock::now();
  const std::string sender = envelope.sender.ToString();
  std::erase_if(envelope.recipients, [&](const Recipient& r) {
    auto hit =
        suppression_->Find(suppression::Key(r.address), message.tenant, message.campaign, now);
    if (!hit) {
      return false;
    }
    const std::string rcpt = r.address.ToString();
    events::Suppressed ev = MakeEvent(session, sender, rcpt, *hit);
    ev.id = message.id_hex;
    ev.message_id = message.message_id;
    ev.tenant = message.tenant;
    ev.campaign = message.campaign;
    bus_.Publish(ev);
    if (auto it = std::find(listed.begin(), listed.end(), rcpt); it != listed.end()) {
      listed.erase(it);
    }
    return true;
  });
}

std::string Ingest::ListUnsubscribeFields(const smtp::SessionInfo& session, const SpoolId& id,
                                          const std::string& tenant, const std::string& campaign,
                                          const Envelope& envelope, const std::string& data) const {
  const auto& u = opts_.unsubscribe;
  const bool wanted = session.unsubscribe || u.enabled.contains(tenant) ||
                      (!campaign.empty() && u.enabled.contains(tenant + ":" + campaign));
  if (!wanted || u.secret.empty() || envelope.recipients.size() != 1 ||
      message::HasField(data, "List-Unsubscribe")) {
    return "";
  }
  // The link carries whom it unsubscribes; the mailto local part (64 octets
  // at most) only the message, looked up in its history when mail comes.
  const std::string token = bounce::EncodeUnsubscribe({id, 0}, u.secret);
  const auto link = bounce::EncodeUnsubscribeLink(
      {{id, 0}, envelope.recipients.front().address.ToString(), tenant, campaign}, u.secret);
  std::vector<std::string> uris;
  if (!u.url.empty() && link) {
    uris.push_back("<" + u.url + *link + ">");
  }
  auto domain = u.mailto_domains.find(tenant);
  if (domain == u.mailto_domains.end()) {
    domain = u.mailto_domains.find("");
  }
  if (domain != u.mailto_domains.end()) {
    uris.push_back("<mailto:" + token + "@" + domain->second + "?subject=unsubscribe>");
  }
  if (uris.empty()) {
    return "";
  }
  // RFC 2369 §2: a comma-separated list of bracketed URIs, folded if long.
  std::string fields = "List-Unsubscribe: " + uris[0];
  for (std::size_t i = 1; i < uris.size(); ++i) {
    fields += ",\r\n " + uris[i];
  }
  fields += "\r\n";
  if (uris.front().rfind("<https:", 0) == 0) {
    fields += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n";  // RFC 8058 §3.1
  }
  return fields;
}

}  // namespace sluice::ingest
