#pragma once
// Security: a policy once fetched protects the domain until it expires, so
//           an attacker who later blocks the TXT record or the policy host
//           cannot strip it (RFC 8461 §5.1, §10.2).
// Standards: RFC 8461 §3.1 (the TXT record's id says when to fetch again),
//            §3.3 (fetching), §5.1 (caching: max_age; a failed refresh keeps
//            the cached policy; kept over restarts).
//
// The MTA-STS policy in force for each recipient domain: looked up through
// the TXT record, fetched (Fetcher) when the record's id differs from the
// cached policy's, cached until max_age runs out and kept in a state file.
// Runs on one io_context (delivery's); not thread-safe.

#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "core/clock.h"
#include "dns/resolver.h"
#include "mtasts/fetch.h"
#include "mtasts/policy.h"

namespace sluice::mtasts {

struct Lookup {
  // The policy in force (null: none). Mode kNone counts as none for delivery.
  std::shared_ptr<const Policy> policy;
  // What went wrong finding or refreshing it (RFC 8460 §4.3.2.2): reported
  // even when a cached policy stays in force.
  std::optional<FetchFailure> failure;
};

class Policies {
 public:
  // `state_file` empty: policies are kept in memory only.
  Policies(const Clock& clock, dns::Resolver& resolver, Fetcher& fetcher, std::string state_file);

  // Reads the state file (policies still unexpired); false with `error` if
  // it cannot be read (it is then ignored).
  bool Load(std::string* error);
  boost::asio::awaitable<Lookup> For(std::string domain);
  // The cached policy, unexpired, without looking anything up (null: none).
  std::shared_ptr<const Policy> Cached(const std::string& domain) const;

  // The state file's text, and back (exposed for tests).
  std::string Serialize() const;
  void Deserialize(std::string_view text);

 private:
  void Save();

  const Clock& clock_;
  dns::Resolver& resolver_;
  Fetcher& fetcher_;
  std::string state_file_;
  std::map<std::string, std::shared_ptr<const Policy>> cache_;
};

}  // namespace sluice::mtasts
