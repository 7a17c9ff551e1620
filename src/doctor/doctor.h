#pragma once
// Security: reads public DNS only; prints what it found.
// Standards: RFC 7208 (SPF), RFC 6376 §3.6 (DKIM key records), RFC 7489 (DMARC),
//            RFC 5321 §5.1 (MX), RFC 8461 (MTA-STS), RFC 7672 (TLSA), RFC 8460
//            (TLS-RPT),
//            forward-confirmed reverse DNS (PTR -> A/AAAA -> the same address).
//
// `sluice doctor DOMAIN`: checks a sending domain's DNS through the configured
// resolver and says, for each failure, what to publish or change.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "dkim/key.h"
#include "dns/resolver.h"
#include "mtasts/fetch.h"

namespace sluice::doctor {

enum class Status { kPass, kWarn, kFail, kInfo };
const char* ToString(Status s);    // "pass", "warn", "FAIL" (to stand out in a table), "info"
const char* StatusName(Status s);  // "pass", "warn", "fail", "info" (JSON, events, metrics)

struct Check {
  std::string name;  // "spf", "dkim s1", "ptr 192.0.2.1", ...
  Status status = Status::kInfo;
  std::string detail;  // what was found
  std::string fix;     // what to do (failures and warnings)
  // The lookup failed for a transient reason (SERVFAIL, timeout): the result
  // says nothing of the record, and a watcher keeps what it knew before.
  bool inconclusive = false;
};

struct Selector {
  std::string selector;
  std::string signing_domain;
  dkim::PrivateKey key;
  // The key's validity window (dkim/key_store.h): a key whose window opens
  // later is the next one of a rotation, and its record must be out first.
  std::optional<std::chrono::system_clock::time_point> valid_from;
  std::optional<std::chrono::system_clock::time_point> valid_until;
};

struct Options {
  std::string domain;
  std::vector<std::string> egress_ips;            // the addresses mail leaves from
  std::string ehlo_name;                          // what those addresses say in EHLO
  std::map<std::string, std::string> ehlo_by_ip;  // per address, where it differs
  std::vector<Selector> selectors;                // configured DKIM keys for the domain
  // When the checks run (key windows are judged at this time), and how long
  // before a next key takes over its unpublished record is a failure (before
  // that, a warning).
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  std::chrono::seconds rotation_notice = std::chrono::hours(24 * 7);
  // Inbound transport security as senders see it (doctor/transport.h): the
  // MTA-STS policy fetched through this (null: not fetched), TLSA records at
  // this port.
  mtasts::Fetcher* sts_fetcher = nullptr;
  std::uint16_t smtp_port = 25;
};

boost::asio::awaitable<std::vector<Check>> Run(dns::Resolver& resolver, Options opts);

// A plain-text table, one check a line, each fix indented below its check.
std::string Format(const std::vector<Check>& checks);
// True if any check failed.
bool AnyFailed(const std::vector<Check>& checks);

}  // namespace sluice::doctor
