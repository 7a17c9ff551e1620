#pragma once
// Security: bounded: a cap on domains per period, on policies per domain and
//           on failure details per policy (beyond them sessions are still
//           counted in the summary, or dropped and counted as dropped).
// Standards: RFC 8460 §4.3 (what a report counts: per policy applied,
//            successful and failed sessions, failures by result type, sending
//            IP, receiving MX and IP), §4.1 (a report covers a UTC day).
//
// The TLS sessions of outbound delivery, counted per recipient (policy)
// domain for the reports RFC 8460 describes. A period runs to the next UTC
// midnight, or until it is cut early (an operator sends reports now); ended
// periods wait in `closed()` for the reporter. Kept in a state file across
// restarts. Runs on one thread (delivery's); not thread-safe.

#include <chrono>
#include <compare>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sluice::tlsrpt {

// RFC 8460 §4.3.1: the policy a session was held to.
struct Policy {
  std::string type = "no-policy-found";  // "sts", "tlsa" or "no-policy-found"
  std::vector<std::string> strings;      // policy-string: the policy's lines or TLSA records
  std::vector<std::string> mx_hosts;     // mx-host: the policy's MX patterns, or the TLSA host
  auto operator<=>(const Policy&) const = default;
};

// RFC 8460 §4.3.2: one kind of failure; each distinct one is a detail row.
struct Failure {
  std::string result_type;   // "certificate-expired", "starttls-not-supported", ...
  std::string sending_ip;    // empty: not known (the unnamed source)
  std::string receiving_mx;  // empty: none (the policy itself failed)
  std::string receiving_ip;  // empty: no connection was made
  auto operator<=>(const Failure&) const = default;
};

struct PolicyCounts {
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
  std::map<Failure, std::uint64_t> details;
};

struct DomainCounts {
  std::map<Policy, PolicyCounts> policies;
  // rua URIs the report has gone to (the reporter's progress, kept across
  // restarts so nothing is sent twice).
  std::vector<std::string> delivered;
  std::uint32_t attempts = 0;  // send attempts that left something undelivered
};

struct Period {
  std::int64_t start = 0;  // seconds since the epoch, inclusive
  std::int64_t end = 0;    // exclusive
  std::map<std::string, DomainCounts, std::less<>> domains;
};

struct Limits {
  std::size_t domains = 100000;  // per period
  std::size_t policies = 32;     // per domain
  std::size_t details = 100;     // failure rows per policy
};

class Ledger {
 public:
  using Time = std::chrono::system_clock::time_point;
  explicit Ledger(Limits limits = {}) : limits_(limits) {}

  void Success(Time now, std::string_view domain, const Policy& policy);
  void Failure(Time now, std::string_view domain, const Policy& policy, const tlsrpt::Failure& f);

  // Ends the open period at `now` (a new one starts there with the next
  // session) and rolls over one whose day is over.
  void Cut(Time now);
  // Ends the open period if its day is over.
  void Roll(Time now);
  std::deque<Period>& closed() { return closed_; }
  const std::optional<Period>& open() const { return open_; }
  // Sessions not counted for the caps.
  std::uint64_t dropped() const { return dropped_; }

  // Whether anything changed since the last Serialize.
  bool dirty() const { return dirty_; }
  void MarkChanged() { dirty_ = true; }
  std::string Serialize();
  // Replaces the contents with a state file's; an error names what is wrong.
  Result<Ok, std::string> Deserialize(std::string_view text);

 private:
  PolicyCounts* Counts(Time now, std::string_view domain, const Policy& policy);

  Limits limits_;
  std::optional<Period> open_;
  std::deque<Period> closed_;
  std::int64_t next_start_ = 0;  // where the next period starts, at the earliest
  std::uint64_t dropped_ = 0;
  bool dirty_ = false;
};

// Seconds since the epoch of the UTC midnight at or before `t`.
std::int64_t DayStart(std::chrono::system_clock::time_point t);

}  // namespace sluice::tlsrpt
