#pragma once
// Where one RCPT goes: the server's recipient policy, pure (no I/O, no
// session state), so that each rule can be tested on its own.
// Standards: RFC 5321 §4.5.1 (postmaster), §3.6.2 and §7.1 (relaying),
//            RFC 3461 §4.2 (ORCPT), RFC 3463 (5.1.1, 5.7.1).

#include <optional>
#include <string>

#include "core/envelope.h"
#include "smtp/proto/reply.h"
#include "smtp/server/options.h"

namespace sluice::smtp {

struct RecipientDecision {
  // The recipient to add to the envelope, or, if null, `refusal`.
  std::optional<Recipient> accept;
  bool postmaster = false;  // `accept` is the postmaster's mailbox
  bool feedback = false;    // `accept` is at a feedback domain (ours to read)
  Reply refusal;
};

// `may_relay`: the client is a relay client or authenticated.
// - postmaster, bare or at a local domain or the server's own name (any case):
//   accepted from anyone, as `[server] postmaster` or the bare <postmaster>
//   (kept in the local Maildir), with the address asked for as ORCPT;
// - any other recipient at a local domain: 550 5.1.1 (no mailboxes here);
// - any recipient at a feedback domain: accepted from anyone (ingest reads it);
// - anything else: relayed for relay clients and authenticated users, 554 5.7.1
//   for others.
RecipientDecision DecideRecipient(const ServerOptions& server, bool may_relay, Address rcpt,
                                  std::uint8_t notify, std::string orcpt);

}  // namespace sluice::smtp
