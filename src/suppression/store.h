#pragma once
// Security: entries come from operators (CLI, HTTP) and from mail outsiders
//           send (bounces, complaints); addresses are normalised before use.
// Standards: RFC 5321 §2.4 (local parts are the receiver's business: we fold
//            ASCII case anyway, as every bulk sender does), RFC 5890 (A-labels).
//
// Suppression lists: addresses (or whole domains) that a tenant's mail, a
// campaign's mail or all mail must no longer go to, and why.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/result.h"

namespace sluice::suppression {

enum class Reason : std::uint8_t {
  kHardBounce = 1,   // the address does not exist (a sync or async bounce)
  kSoftBounce = 2,   // a soft class (mailbox full): expires
  kComplaint = 3,    // the recipient reported the mail as spam (ARF)
  kUnsubscribe = 4,  // List-Unsubscribe (one-click or mailto)
  kManual = 5,       // an operator's or the API's
};
const char* ToString(Reason r);
std::optional<Reason> ParseReason(std::string_view text);

// Whose list: both empty is the global list (all mail); a campaign list
// belongs to a tenant.
struct Scope {
  std::string tenant;
  std::string campaign;
  bool operator==(const Scope&) const = default;
};
// Names are 1-64 of A-Z a-z 0-9 . _ - (as tenants and campaigns are), and a
// campaign has a tenant.
bool Valid(const Scope& s);
// "global", "tenant T" or "campaign T/C", for messages.
std::string Describe(const Scope& s);

struct Entry {
  std::string address;  // a Key(): "local@domain" or "@domain"
  Scope scope;
  Reason reason = Reason::kManual;
  std::chrono::system_clock::time_point created{};
  std::chrono::system_clock::time_point expires{};  // the epoch: never
  std::string source;  // what made it: a message id, "api", "cli", "import"
  std::string detail;  // a bounce class, a feedback type, a note
  bool Expired(std::chrono::system_clock::time_point now) const {
    return expires.time_since_epoch().count() != 0 && expires <= now;
  }
};

// The form an address is kept and looked up in: the local part with ASCII
// letters folded to lower case, "@", the domain's lower-case A-label form;
// "@domain" stands for every address at the domain. nullopt if `text` is
// neither a mailbox nor "@" and a domain name.
std::optional<std::string> Key(std::string_view text);
// The same for a parsed mailbox.
std::string Key(const Address& a);

class SuppressionStore {
 public:
  virtual ~SuppressionStore() = default;
  // Adds or replaces the entry for (address, scope). `e.address` must be a Key().
  virtual Result<Ok, std::string> Add(const std::vector<Entry>& entries) = 0;
  // False if there was none.
  virtual Result<bool, std::string> Remove(const std::string& address, const Scope& scope) = 0;
  // What keeps mail from `tenant` (and its `campaign`) from going to the
  // address `key` at `now`: the campaign's list, then the tenant's, then the
  // global one; in each the address before its domain. Expired entries do
  // not count. nullopt: none.
  virtual std::optional<Entry> Find(std::string_view key, std::string_view tenant,
                                    std::string_view campaign,
                                    std::chrono::system_clock::time_point now) = 0;
  // Every entry of `scope` (all scopes if null) in order (scope, then
  // address), from the one after `after` (its scope and address; null: from
  // the first), while `fn` returns true. Expired entries are skipped.
  virtual void ForEach(const Scope* scope, const Entry* after,
                       std::chrono::system_clock::time_point now,
                       const std::function<bool(const Entry&)>& fn) = 0;
};

}  // namespace sluice::suppression
