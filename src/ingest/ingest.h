#pragma once
// Security: the funnel every accepted message passes; enforces the durability contract.
// Standards: RFC 5321 §4.4 (Received), RFC 5322 §3.6 (Date, Message-ID on submission),
//            RFC 6376 (DKIM signatures, added here so the spool holds what is sent),
//            RFC 6409 §8 (submission may add missing Date and Message-ID).
//
// Durability: Accept() answers 250 only after the spool has synced the message
// (and the postmaster's Maildir its copy, if it has one).
//
// Backscatter: mail from a client that is neither a relay client nor
// authenticated (mail to postmaster) gets NOTIFY=NEVER on every recipient
// (RFC 3461 §4.1), so no report ever goes to an address such a client supplied.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "core/network.h"
#include "dkim/key_store.h"
#include "events/events.h"
#include "ingest/feedback.h"
#include "ingest/maildir.h"
#include "ingest/quota.h"
#include "metrics/fwd.h"
#include "smtp/server/message_sink.h"
#include "spool/spool.h"
#include "suppression/store.h"
#include "tracking/track.h"

namespace sluice::ingest {

struct Options {
  std::string hostname = "localhost";
  // Below this MemAvailable, MAIL gets 452 4.3.1 (the disk floor is the spool's).
  std::uint64_t min_free_memory = 64ull << 20;
  // The tenant each authenticated user sends as, and the tenant of relay
  // clients by network (the most specific that contains the client). Other relay
  // clients name theirs in an X-Tenant field; X-Campaign tags a campaign.
  std::map<std::string, std::string> user_tenants;
  std::vector<std::pair<Network, std::string>> network_tenants;
  // A tenant's sending domains (lower-case A-labels): its mail must have an
  // envelope sender (or <>) and one From field at one of them or below
  // (550 5.7.1). A tenant without any may send as any domain.
  std::map<std::string, std::vector<std::string>> tenant_domains;
  // Intake quotas by tenant: past one, 452 4.7.1 and a QuotaExceeded event.
  std::map<std::string, QuotaLimits> tenant_quotas;
  // Where mail for the bare <postmaster> is kept (when [server] postmaster
  // names no mailbox to send it on to).
  std::string postmaster_maildir = "var/postmaster";
  // A suppressed recipient of mail we originate: refused at RCPT with
  // 550 5.7.1 (true), or taken and dropped for that recipient (false). Either
  // way a Suppressed event says so; lists a campaign field selects are
  // applied at the end of data (dropped).
  bool refuse_suppressed = true;
  // Mail to these domains (as the server's feedback_domains) is read by the
  // FeedbackIntake, not queued.
  std::vector<std::string> feedback_domains;
  // RFC 8058 one-click and RFC 2369 mailto List-Unsubscribe fields, added
  // (and so signed) for the mail of tenants and campaigns that enable it
  // and API messages that ask, when the message has one recipient (the link
  // names it) and carries no List-Unsubscribe of its own.
  struct Unsubscribe {
    std::string url;                // the one-click endpoint, the token appended ("": no link)
    std::string secret;             // the VERP key (tokens are tagged under it)
    std::set<std::string> enabled;  // "tenant", "tenant:campaign"
    // The mailto address's domain: a tenant's bounce domain, "" the default.
    std::map<std::string, std::string> mailto_domains;
  } unsubscribe;
  // Open and click tracking (tracking/track.h), for the mail of tenants and
  // campaigns that enable it and API messages that ask, when the message has
  // one recipient (the tokens name it): applied before DKIM signing.
  struct Tracking {
    tracking::Settings settings;  // base_url empty: off
    std::set<std::string> opens;  // "tenant", "tenant:campaign"
    std::set<std::string> clicks;
  } tracking;
};

// Where the funnel records what it does (each may be null: not recorded).
struct Metrics {
  // End of data to the answer, seconds, by listener.
  metrics::Family<metrics::Histogram>* accept_seconds = nullptr;
  // Signatures added, by algorithm ("rsa-sha256", "ed25519-sha256") and result.
  metrics::Family<metrics::Counter>* dkim_signatures = nullptr;
};

class Ingest final : public smtp::MessageSink {
 public:
  // `on_stored` receives each message once it is durable (the delivery queue).
  using OnStored = std::function<void(spool::Meta)>;
  // `signer` (optional) adds DKIM signatures before the spool write; the
  // signing runs on `blocking` (if given), off the reactor thread.
  Ingest(Options opts, spool::Spool& spool, events::Bus& bus, OnStored on_stored = {},
         const dkim::KeyStore* signer = nullptr, boost::asio::thread_pool* blocking = nullptr);

  // Where suppressed recipients are looked up; null: none are.
  void SetSuppression(suppression::SuppressionStore* store) { suppression_ = store; }
  // What reads mail to the feedback domains; null: such mail is refused (451).
  void SetFeedback(FeedbackIntake* feedback) { feedback_ = feedback; }
  void SetMetrics(Metrics m) { metrics_ = m; }

  std::optional<smtp::Reply> CheckResources() override;
  std::optional<smtp::Reply> CheckRecipient(const smtp::SessionInfo& session, const Address& sender,
                                            const Address& rcpt) override;
  boost::asio::awaitable<smtp::Reply> Accept(smtp::SessionInfo session, Envelope envelope,
                                             std::string data) override;

 private:
  // The tenant configuration fixes for the session (its user's, or its
  // network's), or null: then a relay client's X-Tenant names it.
  const std::string* ConfiguredTenant(const smtp::SessionInfo& session) const;
  // 550 5.7.1 if the tenant has sending domains and the envelope sender or
  // the From field is not at one of them.
  std::optional<smtp::Reply> CheckTenantDomains(const std::string& tenant, const Address& sender,
                                                const std::string& data) const;
  // Takes the recipients suppressed for tenant/campaign out of `envelope`
  // (and their strings out of `listed`), each with a Suppressed event.
  struct MessageTags {
    const std::string& id_hex;
    const std::string& message_id;  // the Message-ID field's value
    const std::string& tenant;
    const std::string& campaign;
  };
  void DropSuppressed(const smtp::SessionInfo& session, const MessageTags& message,
                      Envelope& envelope, std::vector<std::string>& listed);
  // The List-Unsubscribe fields for this message, or "" (see Options).
  // Whether tracking is configured or asked for this message (one recipient,
  // not signed already) (ingest::Options::Tracking).
  bool WantsTracking(const smtp::SessionInfo& session, const std::string& tenant,
                     const std::string& campaign, const Envelope& envelope,
                     const std::string& data) const;
  // The tracking it wants, into `data`.
  void ApplyTracking(const smtp::SessionInfo& session, const SpoolId& id, const std::string& tenant,
                     const std::string& campaign, const Envelope& envelope, std::string& data,
                     std::chrono::system_clock::time_point now) const;
  std::string ListUnsubscribeFields(const smtp::SessionInfo& session, const SpoolId& id,
                                    const std::string& tenant, const std::string& campaign,
                                    const Envelope& envelope, const std::string& data) const;
  // Writes the message for the local postmaster into the Maildir (off the
  // reactor thread); an error reply if it could not be made durable.
  boost::asio::awaitable<std::optional<smtp::Reply>> DeliverLocally(
      const std::string& id_hex, const Envelope& envelope, const std::vector<Recipient>& local,
      const std::string& prefix, const std::string& data);

  Options opts_;
  Maildir postmaster_;
  spool::Spool& spool_;
  events::Bus& bus_;
  OnStored on_stored_;
  const dkim::KeyStore* signer_;
  boost::asio::thread_pool* blocking_;
  TenantQuotas quotas_;
  suppression::SuppressionStore* suppression_ = nullptr;
  FeedbackIntake* feedback_ = nullptr;
  Metrics metrics_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point checked_at_;
  std::optional<smtp::Reply> last_check_;
};

// MemAvailable from /proc/meminfo.
std::optional<std::uint64_t> AvailableMemoryBytes();

}  // namespace sluice::ingest
