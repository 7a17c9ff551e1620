#include "smtp/server/recipient_policy.h"

#include <algorithm>

#include "core/ascii.h"

namespace sluice::smtp {

namespace {

bool IsLocalDomain(const ServerOptions& server, const Address& rcpt) {
  const auto& domains = server.local_domains;
  return !rcpt.domain.empty() &&
         std::find(domains.begin(), domains.end(), rcpt.ascii_domain) != domains.end();
}

// RFC 5321 §4.5.1: "postmaster" is a case-insensitive local name, bare or at
// any domain this server serves (its own name included).
bool IsPostmaster(const ServerOptions& server, const Address& rcpt) {
  if (rcpt.IsBarePostmaster()) {
    return true;
  }
  return AsciiLower(rcpt.local) == "postmaster" &&
         (IsLocalDomain(server, rcpt) || rcpt.ascii_domain == AsciiLower(server.hostname));
}

}  // namespace

RecipientDecision DecideRecipient(const ServerOptions& server, bool may_relay, Address rcpt,
                                  std::uint8_t notify, std::string orcpt) {
  RecipientDecision d;
  if (IsPostmaster(server, rcpt)) {
    // The address this server was asked for is the original recipient (ours,
    // whatever ORCPT the client gave: it names the postmaster in the Maildir's
    // Delivered-To, so a client must not choose it).
    std::string asked = "rfc822;postmaster@" +
                        (rcpt.domain.empty() ? AsciiLower(server.hostname) : rcpt.ascii_domain);
    Address to;
    if (server.postmaster) {
      to = *server.postmaster;
    } else {
      to.local = "postmaster";
    }
    d.accept = Recipient{std::move(to), notify, std::move(asked)};
    d.postmaster = true;
    return d;
  }
  if (IsLocalDomain(server, rcpt)) {
    // Sluice keeps no mailboxes: relaying to a domain it serves would loop.
    d.refusal = {550, "5.1.1",
                 "<" + rcpt.ToString() + ">: Recipient address rejected: no such mailbox here"};
    return d;
  }
  const auto& feedback = server.feedback_domains;
  if (!rcpt.domain.empty() &&
      std::find(feedback.begin(), feedback.end(), rcpt.ascii_domain) != feedback.end()) {
    d.accept = Recipient{std::move(rcpt), notify, std::move(orcpt)};
    d.feedback = true;
    return d;
  }
  if (!may_relay) {
    d.refusal = {554, "5.7.1", "<" + rcpt.ToString() + ">: Relay access denied"};
    return d;
  }
  d.accept = Recipient{std::move(rcpt), notify, std::move(orcpt)};
  return d;
}

}  // namespace sluice::smtp
