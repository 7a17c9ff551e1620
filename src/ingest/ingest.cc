#include "ingest/ingest.h"

#include <algorithm>
#include <fstream>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/spool_id.h"
#include "core/time_format.h"
#include "message/downgrade.h"
#include "message/headers.h"
#include "metrics/metrics.h"
#include "queue/queue_name.h"
#include "runtime/blocking.h"

namespace sluice::ingest {

namespace asio = boost::asio;

namespace {

using StoreResult = Result<Ok, spool::SpoolError>;

// Awaits Spool::Store; the spool thread's callback resumes us on our own executor.
auto StoreAsync(spool::Spool& spool, spool::Meta meta, std::string prefix, std::string body) {
  return asio::async_initiate<const asio::use_awaitable_t<>, void(StoreResult)>(
      [&spool](auto handler, spool::Meta m, std::string p, std::string b) {
        auto ex = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        spool.Store(std::move(m), std::move(p), std::move(b), [shared, ex](StoreResult r) {
          asio::post(ex, [shared, r = std::move(r)]() mutable { (*shared)(std::move(r)); });
        });
      },
      asio::use_awaitable, std::move(meta), std::move(prefix), std::move(body));
}

// RFC 3463 §3.4: X.3.1 mail system full.
smtp::Reply StorageFull() {
  return smtp::Reply{452, "4.3.1", "Insufficient system storage, try again later"};
}

// Bodies up to this size may be signed on the reactor thread (Ed25519 only).
constexpr std::size_t kInlineSignLimit = 64 * 1024;

struct Signed {
  std::string fields;
  std::vector<std::string> errors;
};

Signed SignNow(const dkim::KeyStore& signer, const std::vector<dkim::Choice>& choices,
               const std::string& prefix, const std::string& data,
               std::chrono::system_clock::time_point now) {
  Signed s;
  s.fields = dkim::SignWith(signer, choices, prefix, data, now, &s.errors);
  return s;
}

std::vector<std::string> RecipientStrings(const Envelope& env) {
  std::vector<std::string> out;
  out.reserve(env.recipients.size());
  for (const auto& r : env.recipients) {
    out.push_back(r.address.ToString());
  }
  return out;
}

}  // namespace

std::optional<std::uint64_t> AvailableMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit) {
    if (key == "MemAvailable:") {
      return kb * 1024;
    }
  }
  return std::nullopt;
}

Ingest::Ingest(Options opts, spool::Spool& spool, events::Bus& bus, OnStored on_stored,
               const dkim::KeyStore* signer, boost::asio::thread_pool* blocking)
    : opts_(std::move(opts)),
      postmaster_(opts_.postmaster_maildir),
      spool_(spool),
      bus_(bus),
      on_stored_(std::move(on_stored)),
      signer_(signer != nullptr && !signer->empty() ? signer : nullptr),
      blocking_(blocking),
      quotas_(Clock::System(), opts_.tenant_quotas) {}

std::optional<smtp::Reply> Ingest::CheckResources() {
  // The spool's own answer, every time (a statvfs): the disk can fill fast.
  if (auto room = spool_.Admission(0); !room) {
    if (room.error() == spool::SpoolError::kClosed) {
      return smtp::Reply{421, "4.3.2", "Service shutting down"};
    }
    return StorageFull();
  }
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  if (now - checked_at_ < std::chrono::seconds(1) && checked_at_ != decltype(now){}) {
    return last_check_;
  }
  checked_at_ = now;
  last_check_.reset();
  auto mem = AvailableMemoryBytes();
  if (mem && *mem < opts_.min_free_memory) {
    spdlog::warn("available memory {} below min_free_memory {}: refusing new mail", *mem,
                 opts_.min_free_memory);
    last_check_ = smtp::Reply{452, "4.3.1", "Insufficient system resources, try again later"};
  }
  return last_check_;
}

namespace {

bool AtOrBelow(std::string_view domain, const std::vector<std::string>& domains) {
  return std::any_of(domains.begin(), domains.end(), [domain](const std::string& d) {
    return domain == d || (domain.size() > d.size() && domain.ends_with(d) &&
                           domain[domain.size() - d.size() - 1] == '.');
  });
}

}  // namespace

std::optional<smtp::Reply> Ingest::CheckTenantDomains(const std::string& tenant,
                                                      const Address& sender,
                                                      const std::string& data) const {
  auto it = opts_.tenant_domains.find(tenant);
  if (tenant.empty() || it == opts_.tenant_domains.end() || it->second.empty()) {
    return std::nullopt;
  }
  if (!sender.IsNull() && !AtOrBelow(sender.ascii_domain, it->second)) {
    return smtp::Reply{550, "5.7.1",
                       "Sender domain " + sender.ascii_domain + " is not one of tenant " + tenant +
                           "'s sending domains"};
  }
  if (message::CountFields(data, "From") != 1) {
    return smtp::Reply{550, "5.7.1", "A message needs exactly one From field (RFC 5322 §3.6)"};
  }
  const std::string from = dkim::FromDomain("", data);
  if (!AtOrBelow(from, it->second)) {
    return smtp::Reply{550, "5.7.1",
                       "From domain " + (from.empty() ? std::string("(none)") : from) +
                           " is not one of tenant " + tenant + "'s sending domains"};
  }
  return std::nullopt;
}

const std::string* Ingest::ConfiguredTenant(const smtp::SessionInfo& session) const {
  if (!session.auth_user.empty()) {
    auto it = opts_.user_tenants.find(session.auth_user);
    return it != opts_.user_tenants.end() ? &it->second : nullptr;
  }
  // The most specific tenant network that contains the client.
  const auto client = IpAddress::Parse(session.client_ip);
  const std::pair<Network, std::string>* best = nullptr;
  for (const auto& n : opts_.network_tenants) {
    if (client && n.first.Contains(*client) && (!best || n.first.prefix() > best->first.prefix())) {
      best = &n;
    }
  }
  return best != nullptr ? &best->second : nullptr;
}

asio::awaitable<smtp::Reply> Ingest::Accept(smtp::SessionInfo session, Envelope envelope,
                                            std::string data) {
  const auto began = std::chrono::steady_clock::now();
  const SpoolId id = SpoolId::Generate();
  const std::string id_hex = id.Hex();
  const auto now = std::chrono::system_clock::now();
  const std::string protocol = session.Protocol(envelope.smtputf8);

  message::TraceInfo trace;
  trace.helo = session.helo;
  trace.client_ip = session.client_ip;
  trace.by_host = opts_.hostname;
  trace.protocol = protocol;
  trace.id = id_hex;
  trace.tls_version = session.tls.version;
  trace.tls_cipher = session.tls.cipher;
  trace.tls_bits = session.tls.bits;
  if (envelope.recipients.size() == 1) {
    trace.single_recipient = envelope.recipients.front().address.ToString();
  }
  trace.when = now;
  std::string prefix = message::BuildReceived(trace);
  // The bare <postmaster> is ours to keep (the session routed postmaster
  // mail here when no mailbox is configured to send it on to).
  std::vector<Recipient> local;
  std::erase_if(envelope.recipients, [&local](Recipient& r) {
    if (!r.address.IsBarePostmaster()) {
      return false;
    }
    local.push_back(std::move(r));
    return true;
  });
  // The Reception record lists the envelope's recipients first, in order (a
  // VERP tag or an unsubscribe token names one by its index), then local ones.
  std::vector<std::string> all_recipients = RecipientStrings(envelope);
  for (const auto& r : local) {
    all_recipients.push_back(r.address.ToString());
  }
  // Feedback (bounces, complaints) is ours to read, never relayed or queued.
  std::vector<Address> feedback;
  std::erase_if(envelope.recipients, [this, &feedback](Recipient& r) {
    const auto& domains = opts_.feedback_domains;
    if (r.address.domain.empty() ||
        std::find(domains.begin(), domains.end(), r.address.ascii_domain) == domains.end()) {
      return false;
    }
    feedback.push_back(std::move(r.address));
    return true;
  });
  if (!feedback.empty()) {
    if (feedback_ == nullptr) {
      co_return smtp::Reply{451, "4.3.0", "Feedback is not being read now, try again later"};
    }
    FeedbackIntake* intake = feedback_;
    const std::string& client = session.client_ip;
    Result<Ok, std::string> taken = Fail(std::string());
    if (blocking_ != nullptr) {
      taken = co_await runtime::RunBlocking(*blocking_, [intake, &client, &feedback, &data] {
        return intake->Take(client, feedback, data);
      });
    } else {
      taken = intake->Take(client, feedback, data);
    }
    if (!taken) {
      spdlog::error("{}", taken.error());
      co_return smtp::Reply{451, "4.3.0", "Local error in processing, try again later"};
    }
    if (envelope.recipients.empty() && local.empty()) {
      co_return smtp::Reply{250, "2.0.0", "Ok: report taken"};
    }
    for (const auto& a : feedback) {
      if (auto it = std::find(all_recipients.begin(), all_recipients.end(), a.ToString());
          it != all_recipients.end()) {
        all_recipients.erase(it);
      }
    }
  }
  if (!session.Trusted()) {
    // No delivery report to an address an unknown client supplied, from us or
    // (DSN extension) from the next hop.
    for (auto& r : envelope.recipients) {
      r.notify = kNotifyNever;
    }
  }
  if (session.kind != smtp::ListenerKind::kRelay) {
    // RFC 6409 §8.2, §8.3: a submission server may complete a message.
    if (!message::HasField(data, "Message-ID")) {
      prefix += "Message-ID: <" + id_hex + "@" + opts_.hostname + ">\r\n";
    }
    if (!message::HasField(data, "Date")) {
      prefix += "Date: " + Rfc5322Date(now) + "\r\n";
    }
  }

  // The message's own id for every event: as it came, or as added above.
  std::string message_id;
  if (auto mid = message::FieldValue(prefix, "Message-ID")) {
    message_id = std::move(*mid);
  } else if (auto given = message::FieldValue(data, "Message-ID")) {
    message_id = std::move(*given);
  }
  if (message_id.size() > 998) {  // RFC 5322 §2.1.1: no longer than a line
    message_id.resize(998);
  }
  // RFC 8689 §5: "TLS-Required: No" asks that receivers' TLS policies may be
  // ignored; REQUIRETLS, when also asked, wins.
  if (!envelope.requiretls) {
    if (auto v = message::FieldValue(data, "TLS-Required")) {
      std::string_view t = *v;
      while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) {
        t.remove_prefix(1);
      }
      envelope.tls_optional = t.size() >= 2 && (t[0] == 'N' || t[0] == 'n') &&
                              (t[1] == 'O' || t[1] == 'o') &&
                              (t.size() == 2 || t[2] == ' ' || t[2] == '\t' || t[2] == '\r');
    }
  }

  // Tenant and campaign: only mail we originate names them. The fields that
  // carry them steer delivery and do not travel on. An authenticated user's
  // tenant, and a tenant network's, is the configured one, whatever the mail says.
  std::string tenant;
  std::string campaign;
  if (session.Trusted()) {
    auto tenant_field = message::TakeField(data, "X-Tenant");
    auto campaign_field = message::TakeField(data, "X-Campaign");
    if (const std::string* configured = ConfiguredTenant(session)) {
      tenant = *configured;  // whatever the mail says
    } else if (session.auth_user.empty() && tenant_field && !tenant_field->empty()) {
      if (!queue::ValidTag(*tenant_field)) {
        co_return smtp::Reply{554, "5.6.0", "X-Tenant must be 1-64 of A-Z a-z 0-9 . _ -"};
      }
      tenant = std::move(*tenant_field);
    }
    if (campaign_field && !campaign_field->empty()) {
      if (!queue::ValidTag(*campaign_field)) {
        co_return smtp::Reply{554, "5.6.0", "X-Campaign must be 1-64 of A-Z a-z 0-9 . _ -"};
      }
      campaign = std::move(*campaign_field);
    }
    // What the front end fixed (an API key's tenant, a request's campaign).
    if (!session.tenant.empty()) {
      tenant = session.tenant;
    }
    if (!session.campaign.empty()) {
      campaign = session.campaign;
    }
    if (auto refusal = CheckTenantDomains(tenant, envelope.sender, data)) {
      co_return *refusal;
    }
    DropSuppressed(session, {id_hex, message_id, tenant, campaign}, envelope, all_recipients);
    if (envelope.recipients.empty() && local.empty()) {
      // Every recipient is on a list: nothing to keep. Refused when the
      // lists refuse; else taken (and dropped), as configured.
      if (opts_.refuse_suppressed) {
        co_return smtp::Reply{550, "5.7.1", "All recipients are suppressed"};
      }
      co_return smtp::Reply{250, "2.0.0", "Ok: every recipient is suppressed, nothing queued"};
    }
    if (auto over = quotas_.Take(tenant)) {
      if (over->report) {
        bus_.Publish(events::QuotaExceeded{tenant, over->quota, over->limit, session.listener,
                                           session.client_ip, session.auth_user, over->retry_after,
                                           now});
      }
      co_return smtp::Reply{452, "4.7.1",
                            "Tenant " + tenant + " is over its quota of " + over->limit +
                                "; try again in " + std::to_string(over->retry_after.count()) +
                                " s"};
    }
  }

  if (session.Trusted()) {
    prefix += ListUnsubscribeFields(session, id, tenant, campaign, envelope, data);
    // Local copies would carry the remote recipient's tokens: none then.
    if (local.empty() && WantsTracking(session, tenant, campaign, envelope, data)) {
      if (blocking_ != nullptr && data.size() > kInlineSignLimit) {
        // A large message is rewritten off the reactor thread, as it is signed.
        co_await runtime::RunBlocking(*blocking_, [&] {
          ApplyTracking(session, id, tenant, campaign, envelope, data, now);
          return true;
        });
      } else {
        ApplyTracking(session, id, tenant, campaign, envelope, data, now);
      }
    }
  }

  if (signer_ != nullptr && session.Trusted()) {
    // RFC 6376 §5.3: a signed message must not be re-encoded on the way, so
    // 8-bit content is converted to quoted-printable here, before signing,
    // rather than for a next hop without 8BITMIME (which would break the
    // signature). Content only SMTPUTF8 can carry is signed as it is.
    if (envelope.body == BodyType::k8BitMime && message::Has8Bit(data)) {
      if (auto seven = message::DowngradeTo7Bit(data)) {
        data = std::move(seven).value();
      }
    }
    // Signed over the fields added above and the message as received; the
    // signatures go on top. RSA, and any large body (its hash is the cost),
    // go to the blocking pool; a small Ed25519-only job is cheaper than the trip.
    const auto choices = dkim::ChooseFor(*signer_, prefix, data, now);
    Signed s;
    if (choices.empty()) {
      // The From domain has no key that may sign now.
    } else if (blocking_ != nullptr && (dkim::AnyRsa(choices) || data.size() > kInlineSignLimit)) {
      s = co_await runtime::RunBlocking(*blocking_, [this, &choices, &prefix, &data, now] {
        return SignNow(*signer_, choices, prefix, data, now);
      });
    } else {
      s = SignNow(*signer_, choices, prefix, data, now);
    }
    for (const auto& e : s.errors) {
      spdlog::error("dkim signing of {} failed: {}", id_hex, e);
    }
    if (metrics_.dkim_signatures != nullptr) {
      // SignWith() reports one error per signature it could not make.
      const std::string_view result = s.errors.empty() ? "signed" : "failed";
      for (const auto& c : choices) {
        metrics_.dkim_signatures->With({dkim::ToString(c.key->key.algorithm()), result}).Inc();
      }
    }
    prefix.insert(0, s.fields);
  }

  spool::Meta meta;
  meta.id = id;
  meta.received_us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  meta.listener = session.listener;
  meta.client_ip = session.client_ip;
  meta.auth_user = session.auth_user;
  meta.tenant = tenant;
  meta.campaign = campaign;
  meta.size = prefix.size() + data.size();
  meta.due_us = meta.received_us;
  meta.metadata = session.metadata;
  meta.send_at_us = session.send_at_us;
  meta.message_id = std::move(message_id);
  meta.envelope = envelope;

  events::Reception ev;
  ev.id = id_hex;
  ev.message_id = meta.message_id;
  ev.sender = envelope.sender.ToString();
  ev.recipients = all_recipients;
  ev.size = meta.size;
  ev.client_ip = session.client_ip;
  ev.client_port = session.client_port;
  ev.helo = session.helo;
  ev.listener = session.listener;
  ev.protocol = protocol;
  ev.auth_user = session.auth_user;
  ev.tenant = std::move(tenant);
  ev.campaign = std::move(campaign);
  ev.metadata = std::move(session.metadata);
  if (session.send_at_us > meta.received_us) {
    ev.send_at = FromMicros(session.send_at_us);
  }
  ev.tls_version = session.tls.version;
  ev.tls_cipher = session.tls.cipher;
  ev.timestamp = now;

  if (!local.empty()) {
    auto failed = co_await DeliverLocally(id_hex, meta.envelope, local, prefix, data);
    if (failed) {
      co_return *failed;
    }
    if (meta.envelope.recipients.empty()) {
      bus_.Publish(ev);
      co_return smtp::Reply{250, "2.0.0", "Ok: queued as " + id_hex};
    }
  }

  std::optional<spool::Meta> queued;
  if (on_stored_) {
    queued = meta;  // envelope only: small
  }
  StoreResult stored =
      co_await StoreAsync(spool_, std::move(meta), std::move(prefix), std::move(data));
  if (!stored) {
    spdlog::error("spool store of {} failed: {}", id_hex, spool::ToString(stored.error()));
    if (stored.error() == spool::SpoolError::kClosed) {
      co_return smtp::Reply{421, "4.3.2", "Service shutting down, message not accepted"};
    }
    if (stored.error() == spool::SpoolError::kFull) {
      co_return StorageFull();
    }
    co_return smtp::Reply{451, "4.3.0", "Local error in processing, message not accepted"};
  }
  bus_.Publish(ev);
  if (metrics_.accept_seconds != nullptr) {
    metrics_.accept_seconds->With({ev.listener})
        .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  }
  if (queued) {
    on_stored_(std::move(*queued));
  }
  co_return smtp::Reply{250, "2.0.0", "Ok: queued as " + id_hex};
}

asio::awaitable<std::optional<smtp::Reply>> Ingest::DeliverLocally(
    const std::string& id_hex, const Envelope& envelope, const std::vector<Recipient>& local,
    const std::string& prefix, const std::string& data) {
  // RFC 5321 §4.4: the delivering server adds Return-Path; the original
  // recipient (RFC 3461 ORCPT) tells which postmaster was written to.
  std::string head = "Return-Path: <" + envelope.sender.ToString() + ">\r\n";
  for (const auto& r : local) {
    auto semi = r.orcpt.find(';');
    head += "Delivered-To: " +
            (semi == std::string::npos ? std::string("postmaster") : r.orcpt.substr(semi + 1)) +
            "\r\n";
  }
  head += prefix;
  auto write = [this, &id_hex, &head, &data] { return postmaster_.Deliver(id_hex, head, data); };
  Result<std::string, std::string> done = Fail(std::string());
  if (blocking_ != nullptr) {
    done = co_await runtime::RunBlocking(*blocking_, write);
  } else {
    done = write();
  }
  if (!done) {
    spdlog::error("postmaster mail {} not kept in {}: {}", id_hex, postmaster_.path(),
                  done.error());
    co_return smtp::Reply{451, "4.3.0", "Local error in processing, message not accepted"};
  }
  co_return std::nullopt;
}

}  // namespace sluice::ingest
