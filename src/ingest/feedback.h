#pragma once
// Security: reads mail anyone may send to a bounce domain. Only a VERP
//           address (or one in the report) whose tag checks out under our
//           secret ties a report to a message of ours; nothing is ever sent
//           back (no backscatter): what is not understood is kept for
//           inspection and counted.
// Standards: RFC 3464 (DSNs), RFC 5965 (ARF), RFC 3834 (auto-replies are
//            recognised and dropped).
//
// What comes back to a bounce domain becomes events: AsyncBounce (with its
// class), Complaint (with the feedback type), Unsubscribe (mail to a
// List-Unsubscribe mailto address, u-TOKEN@), and the suppression policy
// (an events::Observer) turns them into entries.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bounce/classify.h"
#include "bounce/verp.h"
#include "core/address.h"
#include "dmarc/intake.h"
#include "events/events.h"
#include "ingest/maildir.h"

namespace sluice::ingest {

// One recipient of a message we sent, as its history tells it.
struct SentTo {
  std::string message_id;  // its Message-ID field's value
  std::string recipient;
  std::string sender;
  std::string tenant;
  std::string campaign;
};
// The recipient a tag names (its index among the Reception record's
// recipients) or nullopt (no history, or the message is not in it).
// Blocking (a history read).
std::optional<SentTo> FindSent(events::History* history, const bounce::VerpTag& tag);

struct FeedbackOptions {
  std::string secret;  // the VERP key (as delivery's)
  // DMARC rua addresses ("local@domain", lower case): their mail goes to
  // the DMARC intake (SetDmarc).
  std::vector<std::string> dmarc_addresses;
  // Reports that are not understood are kept here (a Maildir).
  std::string unparsed_maildir = "var/feedback-unparsed";
};

struct FeedbackStats {
  std::uint64_t bounces = 0;        // AsyncBounce events
  std::uint64_t complaints = 0;     // Complaint events
  std::uint64_t unsubscribes = 0;   // Unsubscribe events (mailto)
  std::uint64_t auto_replies = 0;   // recognised and dropped
  std::uint64_t ignored = 0;        // reports of no failure (delays, successes)
  std::uint64_t unparsed = 0;       // kept in the Maildir
  std::uint64_t dmarc_reports = 0;  // DMARC aggregate reports taken (stored or seen before)
};

class FeedbackIntake {
 public:
  // `history` (may be null) maps a VERP tag's message back to its recipient,
  // tenant and campaign.
  FeedbackIntake(FeedbackOptions opts, events::Bus& bus, events::History* history,
                 std::shared_ptr<const bounce::Classifier> classifier);
  void SetClassifier(std::shared_ptr<const bounce::Classifier> c);
  // Where mail to the DMARC rua addresses goes; null: it is feedback like
  // any other. Set before mail arrives.
  void SetDmarc(dmarc::Intake* d) { dmarc_ = d; }

  // Reads one message sent to `rcpts` (at feedback domains) by `client_ip`.
  // Blocking (history reads, a Maildir write): call it off the reactor.
  // An error only if a message not understood could not be kept.
  Result<Ok, std::string> Take(const std::string& client_ip, const std::vector<Address>& rcpts,
                               std::string_view data);
  FeedbackStats stats() const;

 private:
  // A mail to an unsubscribe address (RFC 2369 mailto): true if it was one.
  bool TakeUnsubscribe(const std::string& client_ip, const std::vector<Address>& rcpts);
  // A mail to a rua address: true if it was one (its reports stored, or the
  // message kept when it held none).
  bool TakeDmarc(const std::string& client_ip, const std::vector<Address>& rcpts,
                 std::string_view data, Result<Ok, std::string>& result);
  // Keeps a message not understood in the Maildir.
  Result<Ok, std::string> Keep(const std::string& client_ip, const std::vector<Address>& rcpts,
                               std::string_view data);

  FeedbackOptions opts_;
  events::Bus& bus_;
  events::History* history_;
  Maildir unparsed_;
  mutable std::mutex mu_;
  std::shared_ptr<const bounce::Classifier> classifier_;
  FeedbackStats stats_;
  dmarc::Intake* dmarc_ = nullptr;
};

// VERP tags in `text` (local parts "b-..." anywhere in it, such as the
// Return-Path of a returned message), each checked under `secret`.
std::vector<bounce::VerpTag> FindVerpTags(std::string_view text, std::string_view secret);

}  // namespace sluice::ingest
