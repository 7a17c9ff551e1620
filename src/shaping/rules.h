#pragma once
// Security: the rules come from the operator; they bound what we send to each
//           destination, so a mistake shows in `sluice shaping explain`.
//
// Traffic shaping rules as data: a default block, provider blocks matched by
// MX host name suffix (all domains hosted by one provider share its limits),
// and domain blocks, each optionally refined per egress source address.
// Precedence, most specific last: built-in ([delivery] settings) < default <
// provider < provider for the source < domain < domain for the source. The
// first provider (in file order) with a matching suffix applies.
//
// A domain with its own block is shaped on its own: its mail does not share a
// ready queue (and so limits) with other domains on the same mail exchangers.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shaping/gcra.h"

namespace sluice::shaping {

// The TLS a path asks of its servers, weakest first: none; encryption if
// offered; encryption always; a certificate valid for the MX host name; DANE
// (TLSA records, RFC 7672) for every host; an MTA-STS policy (RFC 8461) for
// the domain. What a destination publishes can only raise it
// (delivery/tls_policy.h).
enum class Tls { kDisabled, kOpportunistic, kRequired, kVerify, kDane, kMtaSts };
const char* ToString(Tls t);
// "disabled", "opportunistic", "required", "verify", "dane", "mta-sts".
std::optional<Tls> ParseTls(std::string_view text);
inline constexpr const char* kTlsChoices =
    "must be \"disabled\", \"opportunistic\", \"required\", \"verify\", \"dane\" or "
    "\"mta-sts\"";

// One block's options; unset ones are inherited.
struct Settings {
  std::optional<std::uint32_t> connection_limit;
  std::optional<Rate> max_connection_rate;
  std::optional<Rate> max_message_rate;
  std::optional<std::uint32_t> max_deliveries_per_connection;
  std::optional<std::uint32_t> max_recipients_per_transaction;
  std::optional<std::chrono::milliseconds> idle_timeout;
  std::optional<Tls> tls;
  // Retries of mail deferred on this path (the rest of [queue] stays).
  std::optional<std::chrono::milliseconds> first_retry;
  std::optional<std::chrono::milliseconds> max_retry_interval;
  std::optional<double> backoff_factor;
  std::optional<std::chrono::milliseconds> max_age;
};

// A reaction to receiver replies (421 "[TS03]", "S3150" ...): when a reply
// matches, often enough, act on the path (egress source to site) for a while.
enum class Action { kSuspend, kLimit, kBounce };
const char* ToString(Action a);
// What a suspension holds: the path (egress source to site), or on the site,
// the mail of the replied-to message's tenant, or of its campaign (per tenant).
enum class Scope { kPath, kTenant, kCampaign };
const char* ToString(Scope s);

struct Automation {
  std::string name;         // for events and explanations
  std::optional<int> code;  // 421; or a class: 400 for "4xx", 500 for "5xx"
  bool code_class = false;
  std::string enhanced_prefix;  // "4.7." matches 4.7.0, 4.7.28 ...
  std::string pattern;          // regular expression searched in the text (any case)
  std::shared_ptr<const struct CompiledPattern> compiled;  // set by CompilePattern
  Action action = Action::kSuspend;
  Scope scope = Scope::kPath;  // kSuspend only
  std::chrono::milliseconds duration{std::chrono::minutes(30)};
  Settings limit;                       // kLimit: the settings in force meanwhile
  std::uint32_t threshold = 1;          // fire when matched this often ...
  std::chrono::milliseconds window{0};  // ... within this window ("3/hr"); 1 = at once
};

// Compiles a.pattern (ECMAScript, case-insensitive); false with `why` if invalid.
bool CompilePattern(Automation& a, std::string* why);
// Whether a reply matches a rule.
bool Matches(const Automation& a, int code, std::string_view enhanced, std::string_view text);

struct Block {
  Settings settings;
  std::map<std::string, Settings> by_source;  // canonical egress address -> refinement
  std::vector<Automation> automation;
};

struct Provider {
  std::string name;
  std::vector<std::string> mx_suffixes;  // ".google.com" (lower case)
  Block block;
};

struct Rules {
  Block defaults;
  std::vector<Provider> providers;       // in file order
  std::map<std::string, Block> domains;  // lower-case domain -> block
};

// The settings in force for one ready queue, each with the rule it came from.
struct Effective {
  std::uint32_t connection_limit = 10;
  std::optional<Rate> max_connection_rate;
  std::optional<Rate> max_message_rate;
  std::uint32_t max_deliveries_per_connection = 100;
  std::uint32_t max_recipients_per_transaction = 100;
  std::chrono::milliseconds idle_timeout{5000};
  Tls tls = Tls::kOpportunistic;
  Settings retry;  // only the retry options: unset ones come from [queue]
  std::map<std::string, std::string> origin;  // option name -> "default", "provider gmail", ...
  std::string provider;                       // the matched provider, if any
  // Reply rules in force: default's, then the provider's, then the domain's.
  // They point into the Rules, which the holder keeps alive.
  std::vector<const Automation*> automation;
};

// Layers `s` over `e` (used for a rule's temporary limits).
void Layer(Effective& e, const Settings& s, const std::string& origin);

// The provider whose suffixes match one of `mx_hosts`, or null.
const Provider* MatchProvider(const Rules& rules, const std::vector<std::string>& mx_hosts);

// Layers the rules over `builtin` for mail to `domain` through `mx_hosts`
// (empty when not known) from egress address `source` (may be empty).
Effective Resolve(const Rules& rules, const Effective& builtin, std::string_view domain,
                  const std::vector<std::string>& mx_hosts, std::string_view source);

// Each effective option as text, with the layer it came from.
struct ExplainedOption {
  std::string name;
  std::string value;
  std::string origin;  // "built-in", "default", "provider gmail", ...
};
std::vector<ExplainedOption> ExplainOptions(const Effective& e);
// The reply rules in force: (name, "ACTION [SCOPE] for Nms").
std::vector<std::pair<std::string, std::string>> ExplainAutomation(const Effective& e);
// One line per option: "name = value   (origin)", then the reply rules.
std::string Explain(const Effective& e);

}  // namespace sluice::shaping
