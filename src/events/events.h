#pragma once
// Security: records carry addresses and client details, never bodies or credentials.
// Standards: RFC 8259 (JSON), RFC 3339 (timestamps); JSON Lines framing.
// Typed event records and the bus that writes them as JSON lines.
// Records are for operators and integrations; diagnostics go to spdlog, apart.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace sluice::events {

class RotationWorker;
using Metadata = std::vector<std::pair<std::string, std::string>>;

struct Reception {
  std::string id;
  std::string message_id;  // the Message-ID field's value; empty: none
  std::string sender;
  std::vector<std::string> recipients;
  std::uint64_t size = 0;
  std::string client_ip;
  std::uint16_t client_port = 0;
  std::string helo;
  std::string listener;
  std::string protocol;  // RFC 3848 keyword: ESMTP, ESMTPSA, ...
  std::string auth_user;
  std::string tenant;    // empty: none
  std::string campaign;  // empty: none
  std::string tls_version;
  std::string tls_cipher;
  Metadata metadata;  // an API request's, carried into every event of the message
  std::chrono::system_clock::time_point send_at{};  // epoch: at once
  std::chrono::system_clock::time_point timestamp;
};

// The outcome of one delivery attempt for one recipient.
enum class OutcomeType { kDelivery, kTransientFailure, kBounce, kExpiration, kAdminBounce };
const char* ToString(OutcomeType t);

struct Outcome {
  OutcomeType type = OutcomeType::kDelivery;
  std::string id;
  std::string message_id;  // the Message-ID field's value; empty: none
  std::string sender;
  std::string recipient;
  std::string queue;  // scheduled queue: "campaign:tenant@domain" (tags optional)
  std::string tenant;
  std::string campaign;
  Metadata metadata;
  std::string site;      // the MX host set, when known
  std::string provider;  // the shaping provider the site matched ("other": none), when known
  std::string mx_host;
  std::string mx_ip;
  std::string egress_source;
  std::uint32_t attempt = 0;
  int code = 0;
  std::string enhanced;
  std::string text;
  // For a failure: its class (bounce/classify.h), whether the address is
  // bad (hard), and the rule that said so; bounce_class "" unclassified.
  std::string bounce_class;
  bool hard = false;
  std::string rule;
  std::string tls_version;
  std::string tls_cipher;
  std::string tls_policy;  // the policy the attempt ran under; empty: no attempt
  bool tls_authenticated = false;
  std::chrono::system_clock::time_point timestamp;
  std::chrono::system_clock::time_point received;
  std::chrono::milliseconds duration{0};  // of this attempt
};

// A shaping action taken on a path (egress source to site): by a rule of the
// shaping file that matched a reply, or by the built-in back-off.
struct Automation {
  std::string rule;    // "provider yahoo #1 (yahoo-ts03)", "built-in: connection failures"
  std::string action;  // "suspend", "suspend tenant", "limit", "bounce", "halve concurrency"
  std::string site;
  // A tenant or campaign suspension names whose mail it holds (campaign
  // suspensions are per tenant: both are set).
  std::string tenant;
  std::string campaign;
  std::string egress_source;
  std::chrono::system_clock::time_point timestamp;
  std::chrono::system_clock::time_point until;  // the effect lasts until then (epoch: not known)
  int code = 0;                                 // the reply that triggered it, if any
  std::string enhanced;
  std::string text;
};

// A tenant's mail refused for its quota (at most one a minute per tenant
// while it stays over).
struct QuotaExceeded {
  std::string tenant;
  std::string quota;  // "hour", "day", "rate"
  std::string limit;  // as configured
  std::string listener;
  std::string client_ip;
  std::string auth_user;
  std::chrono::seconds retry_after{0};
  std::chrono::system_clock::time_point timestamp;
};

// Mail kept from a suppressed recipient: refused at RCPT (id empty), or
// taken and dropped for that recipient (id set), or left out of an API request.
struct Suppressed {
  std::string id;
  std::string message_id;  // the Message-ID field's value; empty at RCPT (not known yet)
  std::string sender;
  std::string recipient;
  std::string tenant;
  std::string campaign;
  std::string listener;
  std::string client_ip;
  bool refused = false;  // the client was told (550 5.7.1 or the API's answer)
  // The entry that matched (suppression/store.h).
  std::string entry;   // its address: "a@b.example" or "@b.example"
  std::string scope;   // "global", "tenant T", "campaign T/C"
  std::string reason;  // "hard-bounce", "complaint", ...
  std::chrono::system_clock::time_point timestamp;
};

// What came back from outside about mail sent: an asynchronous bounce (a
// delivery-status report to a VERP address), a complaint (an ARF report from
// a feedback loop), an unsubscribe (List-Unsubscribe by POST or mail).
enum class FeedbackType { kAsyncBounce, kComplaint, kUnsubscribe };
const char* ToString(FeedbackType t);

struct Feedback {
  FeedbackType type = FeedbackType::kAsyncBounce;
  std::string via;  // "dsn", "free-text", "arf", "one-click", "mailto"
  // The message it is about (from the VERP address or the token) and what
  // its history says of it; empty where unknown.
  std::string id;
  std::string message_id;  // the Message-ID field's value, as its history has it
  std::string recipient;
  std::string sender;
  std::string tenant;
  std::string campaign;
  // An async bounce: the report's status and the class the classifier gives it.
  std::string status;  // "5.1.1"
  std::string diagnostic;
  std::string remote_mta;
  std::string reporting_mta;
  std::string bounce_class;
  bool hard = false;
  std::string rule;
  // A complaint: RFC 5965 §3.1 Feedback-Type, User-Agent, the original's Message-ID.
  std::string feedback_type;
  std::string user_agent;
  std::string original_message_id;
  std::string client_ip;  // who sent the report or made the request
  std::chrono::system_clock::time_point timestamp;
};

// A recipient's hit on an open pixel or a tracked link (tracking/).
// Machine traffic (scanners, image proxies, previews) is flagged, not
// dropped: `machine` says why it seems not to be a person ("" it does).
enum class EngagementType { kOpen, kClick };
const char* ToString(EngagementType t);

struct Engagement {
  EngagementType type = EngagementType::kOpen;
  std::string id;  // the message
  std::string recipient;
  std::string tenant;
  std::string campaign;
  std::string url;  // a click's target
  std::string user_agent;
  std::string client_ip;
  std::string machine;
  std::chrono::system_clock::time_point sent;  // when the message was taken
  std::chrono::system_clock::time_point timestamp;
};

// Events a webhook gave up on: older than its max_age and still not taken
// by the receiver (never itself sent to webhooks).
struct WebhookDropped {
  std::string webhook;
  std::uint64_t events = 0;
  std::chrono::system_clock::time_point oldest;  // when the oldest was emitted
  std::string last_error;                        // the last attempt's failure
  std::chrono::system_clock::time_point timestamp;
};

// A scheduled check of a sending domain's DNS (monitor/health_monitor.h)
// came out differently from the time before: SPF, DKIM, DMARC, PTR, ...
struct HealthChanged {
  std::string domain;
  std::string check;     // "spf", "dkim s2", "ptr 192.0.2.1", ...
  std::string previous;  // "pass", "warn", "fail", "info"; "" first seen
  std::string status;
  std::string detail;  // what was found
  std::string fix;     // what to publish or change
  std::chrono::system_clock::time_point timestamp;
};

// A blocklist (DNSBL, monitor/blocklist_monitor.h) listed one of our egress
// addresses or sending domains, or delisted it.
struct BlocklistChanged {
  std::string list;     // "spamhaus-zen"
  std::string zone;     // "zen.spamhaus.org"
  std::string kind;     // "ip", "domain"
  std::string subject;  // the address or domain
  bool listed = false;
  std::vector<std::string> codes;  // the list's answers (127.0.0.x)
  std::string meaning;             // the codes decoded
  std::string reason;              // the list's TXT record, if any
  bool out_of_pools = false;       // the source left its pools for it
  std::chrono::system_clock::time_point timestamp;
};

// One JSON object, without a trailing newline.
std::string ToJson(const BlocklistChanged& e);
std::string ToJson(const HealthChanged& e);
std::string ToJson(const WebhookDropped& e);
std::string ToJson(const Suppressed& e);
std::string ToJson(const Feedback& e);
std::string ToJson(const Engagement& e);
std::string ToJson(const Reception& e);
std::string ToJson(const QuotaExceeded& e);
std::string ToJson(const Outcome& e);
std::string ToJson(const Automation& e);

struct SinkStats {
  std::uint64_t written = 0;  // records written whole
  std::uint64_t failed = 0;   // records that could not be written (disk full, I/O error)
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void Write(const std::string& line) = 0;
  virtual void Reopen() {}
  virtual SinkStats stats() const { return {}; }
};

// How the event log file is rotated and how much disk it may take.
struct LogOptions {
  std::uint64_t max_bytes = 0;      // rotate before passing this size (0: never)
  std::chrono::seconds max_age{0};  // rotate a file written this long (0: never)
  std::size_t keep = 0;             // rotated files kept, newest (0: all)
  bool compress = false;            // zstd the rotated files (events/log_files.h)
  std::uint64_t min_free_disk = 0;  // below this free space, records are dropped
};

// Appends lines to a file. It rotates the file itself (LogOptions: by size or
// age, keeping and compressing closed files off the writing thread), or an
// operator's logrotate renames it and Reopen() (SIGHUP) starts a new one.
//
// A record is written whole or not at all: a write that fails part-way (the
// disk filled) is cut back off the file, and a torn last line left by a crash
// is cut off when the file is opened. A failed record is counted and logged
// (at most once every 10 s) and dropped; writing goes on with the next record,
// so mail never waits on the log. Below min_free_disk the log writes nothing
// (and counts it), leaving the space to the spool.
class JsonlFileSink final : public Sink {
 public:
  static Result<std::unique_ptr<JsonlFileSink>, std::string> Open(std::string path,
                                                                  LogOptions opts = {});
  ~JsonlFileSink() override;
  void Write(const std::string& line) override;
  void Reopen() override;
  SinkStats stats() const override;

 private:
  JsonlFileSink(std::string path, LogOptions opts);
  // Opens path_ for appending and cuts a torn last line off; -1 on failure.
  int OpenAndRepair();
  void CountFailure(int err);
  // Whether free space is under the floor (asked at most once a second).
  bool BelowFloor();
  void Rotate();

  std::string path_;
  LogOptions opts_;
  std::unique_ptr<RotationWorker> rotation_;  // null: no rotation of its own
  std::chrono::steady_clock::time_point opened_at_{};
  std::chrono::steady_clock::time_point floor_checked_at_{};
  bool below_floor_ = false;
  mutable std::mutex mu_;
  int fd_ = -1;
  std::uint64_t size_ = 0;  // the file's length after the last whole record
  bool torn_ = false;       // a failed write left octets past size_ not yet cut off
  SinkStats stats_;
  std::chrono::steady_clock::time_point warned_at_{};
  std::uint64_t unreported_ = 0;
};

// Each message's events, kept for a while to be read back by message id
// (GET /api/v1/messages/{id}). Append is called from any thread.
class History {
 public:
  virtual ~History() = default;
  virtual void Append(std::string_view message_id, std::string_view line) = 0;
  // The message's events in the order appended (JSON objects, one a line).
  virtual std::vector<std::string> Read(std::string_view message_id) = 0;
};

// Told of events as typed records, on the publishing thread (which must not
// wait long): the suppression policy, the reputation guards, the metrics.
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void OnReception(const Reception& /*e*/) {}
  virtual void OnOutcome(const Outcome& /*e*/) {}
  virtual void OnFeedback(const Feedback& /*e*/) {}
  virtual void OnSuppressed(const Suppressed& /*e*/) {}
  virtual void OnAutomation(const Automation& /*e*/) {}
  virtual void OnEngagement(const Engagement& /*e*/) {}
  virtual void OnHealthChanged(const HealthChanged& /*e*/) {}
  virtual void OnBlocklistChanged(const BlocklistChanged& /*e*/) {}
};

// Told of every record as it is written: its type ("Delivery", ...), its
// tenant ("" none) and its JSON, on the publishing thread, which must not
// wait long: the webhooks' outbox.
class RecordTap {
 public:
  virtual ~RecordTap() = default;
  virtual void OnRecord(std::string_view type, std::string_view tenant,
                        const std::string& json) = 0;
};

class Bus {
 public:
  void AddSink(std::unique_ptr<Sink> sink) { sinks_.push_back(std::move(sink)); }
  // Added before publishing starts; not owned.
  void AddObserver(Observer* o) { observers_.push_back(o); }
  // Added before publishing starts; not owned.
  void AddTap(RecordTap* t) { taps_.push_back(t); }
  // Where events of a message also go; null: nowhere. Set before publishing.
  void SetHistory(History* history) { history_ = history; }
  void Publish(const Reception& e);
  void Publish(const Outcome& e);
  void Publish(const Automation& e);
  void Publish(const QuotaExceeded& e);
  void Publish(const Suppressed& e);
  void Publish(const Feedback& e);
  void Publish(const Engagement& e);
  void Publish(const WebhookDropped& e);
  void Publish(const HealthChanged& e);
  void Publish(const BlocklistChanged& e);
  void Reopen();
  SinkStats stats() const;  // summed over the sinks

 private:
  void WriteLine(const std::string& line);
  void WriteLine(const std::string& line, std::string_view message_id);
  void Tap(std::string_view type, std::string_view tenant, const std::string& line);
  std::vector<std::unique_ptr<Sink>> sinks_;
  std::vector<Observer*> observers_;
  std::vector<RecordTap*> taps_;
  History* history_ = nullptr;
};

}  // namespace sluice::events
