#pragma once
// Security: classifies replies from any server on the Internet; patterns are
//           RE2 (linear time, no backtracking), so no reply can make a rule
//           slow.
// Standards: RFC 5321 §4.2 (reply codes), RFC 3463 (enhanced status codes),
//            RFC 7372 (authentication codes 5.7.20-5.7.27), RFC 7505 (null MX).
//
// Every reply (synchronous, and later asynchronous bounces) gets a class: why
// the mail failed, in terms a sender acts on, and whether the address itself
// is bad (hard) or the failure says nothing about it (soft). The rules are
// data (etc/bounce.toml, built in as the default): the first rule whose
// conditions all hold wins; a rule without conditions of a kind ignores it.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sluice::bounce {

// The classes, from the most to the least specific about the recipient.
inline constexpr std::string_view kClasses[] = {
    "bad-mailbox",     "bad-domain",  "inactive-mailbox", "quota",         "policy",
    "spam-block",      "spam-content", "virus",           "authentication", "routing",
    "protocol",        "message-expired", "no-answer",    "relaying-denied", "reputation",
    "other"};
bool ValidClass(std::string_view name);
// Without a rule's own say: hard for a permanent (5xx) reply of the classes
// that say the address is bad (bad-mailbox, bad-domain, inactive-mailbox).
bool HardByDefault(std::string_view klass, int code);

struct Rule {
  std::string name;                   // unique; says which rule matched
  std::string provider;               // "" generic
  std::string klass;                  // one of kClasses
  std::optional<bool> hard;           // none: HardByDefault
  std::vector<int> codes;             // reply codes (550, 421); empty: any
  std::vector<std::string> enhanced;  // "5.1.1", "5.7", "x.2.2" (x: 4 or 5); empty: any
  std::string text;                   // RE2 pattern over the reply text; "": any
  bool ignore_case = true;
  std::string example;                // a real reply the rule is for (checked by tests)
};

struct Verdict {
  std::string klass = "other";
  bool hard = false;
  std::string rule;      // the rule that matched; "" none
  std::string provider;  // its provider, if any
};

// Splits a reply line "550 5.1.1 text" (or "550-5.1.1 text") into its parts;
// the enhanced code may be missing.
struct ReplyParts {
  int code = 0;
  std::string enhanced;
  std::string text;
};
std::optional<ReplyParts> SplitReply(std::string_view line);

class Classifier {
 public:
  // Compiles the rules; what is wrong names the rule.
  static Result<std::shared_ptr<const Classifier>, std::string> Create(std::vector<Rule> rules);
  ~Classifier();

  Verdict Classify(int code, std::string_view enhanced, std::string_view text) const;
  const std::vector<Rule>& rules() const { return rules_; }

 private:
  Classifier();
  struct Patterns;
  std::vector<Rule> rules_;
  std::unique_ptr<Patterns> patterns_;
};

}  // namespace sluice::bounce
