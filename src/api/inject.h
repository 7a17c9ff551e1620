#pragma once
// Security: parses untrusted JSON from API clients; every field is checked,
//           unknown ones are refused (a typo is an error, not a silent
//           default); what templates may produce is bounded.
// Standards: RFC 8259 (JSON), RFC 5321 §4.1.2 (addresses), RFC 5322 (content),
//            RFC 4648 §4 (base64 attachments).
//
// The body of POST /api/v1/messages, read into the messages ingest takes.
// Either a complete message for every recipient:
//   {"from": "news@shop.example", "recipients": ["a@x.example", {"email": "b@y.example"}],
//    "content": "From: ...\r\nSubject: ...\r\n\r\nbody\r\n"}
// or parts from which one message per recipient is built (message/compose.h),
// subject, text and html being Mustache templates filled with the request's
// and the recipient's substitutions (and {{email}}, {{name}}):
//   {"from": {"email": "news@shop.example", "name": "Shop"}, "reply_to": "help@shop.example",
//    "subject": "Hello {{first}}", "text": "...", "html": "...",
//    "headers": {"X-Mailer-Id": "42"},
//    "attachments": [{"filename": "a.pdf", "content_type": "application/pdf", "content": BASE64}],
//    "substitutions": {"shop": "Shop"},
//    "recipients": [{"email": "a@x.example", "name": "Ann", "substitutions": {"first": "Ann"}}]}
// Both take "campaign", (operator keys only) "tenant", "metadata" (a map of
// strings carried into every event of the message), "send_at" (RFC 3339:
// no attempt before then), "unsubscribe" (true: RFC 8058 List-Unsubscribe
// fields) and "tracking" ({"opens": true, "clicks": true}), the last two for
// messages with one recipient. A malformed recipient is reported by itself; the
// others are still sent.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/envelope.h"
#include "core/result.h"

namespace sluice::api {

inline constexpr std::size_t kMaxRecipientsPerRequest = 1000;
// What templates may render, all messages of a request together.
inline constexpr std::size_t kMaxComposedBytes = 128u << 20;
// "metadata": keys of 1-64 of [A-Za-z0-9._-], at most this many, this much in all.
inline constexpr std::size_t kMaxMetadataKeys = 32;
inline constexpr std::size_t kMaxMetadataBytes = 4096;

struct RejectedRecipient {
  std::string recipient;  // as given
  std::string message;    // why
};

struct OutgoingMessage {
  Envelope envelope;
  std::string content;                  // CRLF line ends
  std::vector<std::string> recipients;  // as given, in order
};

struct InjectRequest {
  std::vector<OutgoingMessage> messages;  // one (content), or one per recipient (parts)
  std::string campaign;                   // "" if none
  std::string tenant;                     // "" if none
  std::vector<std::pair<std::string, std::string>> metadata;
  std::optional<std::chrono::system_clock::time_point> send_at;
  bool unsubscribe = false;   // List-Unsubscribe fields on each message (one recipient each)
  bool track_opens = false;   // an open pixel in each message's HTML (one recipient each)
  bool track_clicks = false;  // its links through the tracking host
  std::vector<RejectedRecipient> rejected;
};

struct InjectError {
  std::string code;  // "bad_request", "too_many_recipients", "too_large"
  std::string message;
};

// The request, or what makes the whole of it unacceptable. `unique` goes
// into the MIME boundaries of built messages (random, from the caller).
Result<InjectRequest, InjectError> ParseInject(std::string_view body, std::string_view unique);

}  // namespace sluice::api
