#pragma once
// Security: signs what we send on the operator's behalf; keys never leave memory.
// Standards: RFC 6376 §3.5 (DKIM-Signature tags), §3.7 (computing the hashes),
//            §5.4 (which fields to sign; §5.4.2 repeated fields, signing a field's
//            absence), §8.15 (over-signing against added fields), RFC 8463.
//
// No l= is ever written: a body length limit lets anyone append to a signed message.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "dkim/canon.h"
#include "dkim/key.h"

namespace sluice::dkim {

// From, To, Cc, Subject, Date, Message-ID, Reply-To, MIME-Version, Content-Type,
// List-Unsubscribe, List-Unsubscribe-Post, Feedback-ID.
const std::vector<std::string>& DefaultSignedHeaders();
// From and Subject: signed once more than they occur, so none can be added.
const std::vector<std::string>& DefaultOversignedHeaders();

struct SignOptions {
  std::string domain;    // d=
  std::string selector;  // s=
  CanonPair canon;       // relaxed/relaxed unless set
  std::vector<std::string> headers = DefaultSignedHeaders();
  std::vector<std::string> oversign = DefaultOversignedHeaders();
  std::string identity;                       // i=, if not empty
  std::optional<std::chrono::seconds> expire;  // x = t + expire
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

// A message as two pieces: header fields we are about to prepend (Received,
// added Message-ID ...) and the message as received.
struct MessageView {
  std::vector<HeaderField> fields;  // top to bottom
  std::string_view body;
};
MessageView View(std::string_view prepended, std::string_view message);

// The base64 body hash for a canonicalisation (to share between signatures).
std::string BodyHash(Canon c, std::string_view body);

// The DKIM-Signature field, folded, ending in CRLF, to place above the message.
// `body_hash` is BodyHash(o.canon.body, m.body).
Result<std::string, std::string> Sign(const PrivateKey& key, const SignOptions& o,
                                      const MessageView& m, std::string_view body_hash);
// The same for a whole message in one piece.
Result<std::string, std::string> Sign(const PrivateKey& key, const SignOptions& o,
                                      std::string_view message);

// The header hash input (§3.7): the fields named in `names`, each taken from the
// bottom up, canonicalised; then the signature field itself without its b= value
// and without a final CRLF.
std::string HeaderHashInput(Canon c, const std::vector<HeaderField>& fields,
                            const std::vector<std::string>& names,
                            std::string_view signature_field_without_b);

}  // namespace sluice::dkim
