#pragma once
// Security: holds the operator's signing keys in memory; chooses which sign a message.
// Standards: RFC 6376 §3.1 (selectors, for key rotation), RFC 7489 §3.1.1
//            (DMARC alignment: by default d= is the From domain).
//
// Rotation: a domain lists several keys (selectors), each with an optional
// validity window. For each algorithm the domain has keys of, the signing key
// is the newest one whose window holds the date and that is known to be
// published in DNS (when publication is required). So a new selector can be
// configured ahead of time: it takes over once its window opens and its
// record is seen, and the old one signs until then.
//
// Publication is reported by the caller (app/ checks DNS; this module does no I/O).

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/canon.h"
#include "dkim/key.h"
#include "dkim/sign.h"

namespace sluice::dkim {

using TimePoint = std::chrono::system_clock::time_point;

struct KeyConfig {
  std::string selector;
  std::string key_file;  // for messages
  PrivateKey key;
  std::optional<TimePoint> valid_from;
  std::optional<TimePoint> valid_until;
};

struct DomainConfig {
  std::string domain;          // the From domain this entry serves
  std::string signing_domain;  // d=; the From domain unless overridden
  std::vector<KeyConfig> keys;
};

struct Options {
  CanonPair canon;
  std::vector<std::string> headers = DefaultSignedHeaders();
  std::vector<std::string> oversign = DefaultOversignedHeaders();
  std::optional<std::chrono::seconds> expire;  // x=
  // When set: mail whose From domain has no entry is signed with this entry's keys.
  std::string fallback_domain;
  bool require_published = true;
  std::chrono::seconds recheck{3600};  // how often publication is checked
  std::vector<DomainConfig> domains;
};

enum class Published { kUnknown, kYes, kNo };
const char* ToString(Published p);

// One signature to make.
struct Choice {
  const KeyConfig* key;
  const DomainConfig* domain;
};

class KeyStore {
 public:
  explicit KeyStore(Options opts);

  const Options& options() const { return opts_; }
  bool empty() const { return opts_.domains.empty(); }

  // The keys to sign with for mail From `from_domain` (lower case) at `now`.
  std::vector<Choice> Choose(std::string_view from_domain, TimePoint now) const;

  void SetPublished(const std::string& signing_domain, const std::string& selector, Published p);
  Published IsPublished(const std::string& signing_domain, const std::string& selector) const;

 private:
  Options opts_;
  std::map<std::string, std::size_t> by_domain_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Published> published_;
};

// Whether the TXT records found at <selector>._domainkey.<domain> publish
// `key`: kYes if one holds its public key, kNo otherwise (with the reason in `why`).
Published MatchPublished(const PrivateKey& key, const std::vector<std::string>& records,
                         std::string* why = nullptr);

// The domain of the first address in the From field of `message` (lower
// case), or empty if there is none.
std::string FromDomain(std::string_view prepended, std::string_view message);

// The keys to sign a message made of `prepended` fields above `message` with.
std::vector<Choice> ChooseFor(const KeyStore& store, std::string_view prepended,
                              std::string_view message, TimePoint now);
// True if any of them is an RSA key (worth moving off a reactor thread: an
// RSA-2048 signature takes about a millisecond, an Ed25519 one about 25 µs).
bool AnyRsa(const std::vector<Choice>& choices);

// The DKIM-Signature fields (each ending in CRLF), one per chosen key; a key
// that fails to sign is skipped and named in `errors`.
std::string SignWith(const KeyStore& store, const std::vector<Choice>& choices,
                     std::string_view prepended, std::string_view message, TimePoint now,
                     std::vector<std::string>* errors = nullptr);
// ChooseFor, then SignWith.
std::string SignMessage(const KeyStore& store, std::string_view prepended,
                        std::string_view message, TimePoint now,
                        std::vector<std::string>* errors = nullptr);

}  // namespace sluice::dkim
