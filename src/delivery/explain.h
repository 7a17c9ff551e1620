#pragma once
// Security: read-only; shows where mail to a domain would go and under which
//           limits, for operators (CLI and operator API keys).
// Standards: RFC 5321 §5.1 (MX lookup).
//
// `sluice shaping explain` and POST /api/v1/shaping/explain: for mail to a
// domain (from a tenant's and campaign's pool, or a given source), the hosts
// it goes to, the egress pool and source, the shaping provider matched, and
// every effective setting with the layer it came from.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/result.h"
#include "delivery/dispatcher.h"
#include "dns/resolver.h"
#include "shaping/rules.h"

namespace sluice::delivery {

struct ExplainQuery {
  std::string domain;                 // normalised (core/address.h NormalizeDomain)
  std::optional<std::string> source;  // an egress address; none: the pool's first
  std::string tenant;                 // "" none
  std::string campaign;               // "" none; needs a tenant
};

// Checks what an operator typed or sent: the domain (normalised), an IP
// address as source, tenant and campaign tags (a campaign needs its tenant).
Result<ExplainQuery, std::string> MakeExplainQuery(std::string_view domain, std::string_view source,
                                                   std::string_view tenant,
                                                   std::string_view campaign);

struct Explanation {
  std::string domain;
  std::vector<std::string> hosts;  // in the order tried
  std::string via;                 // "route", "MX", or why the MX lookup failed
  std::string pool;                // "" when no pool applies
  std::string pool_why;
  struct Member {
    std::string name;
    std::string address;
    std::uint32_t weight = 1;
  };
  std::vector<Member> sources;  // the pool's (or every configured) source
  std::string source;           // the one explained; "" is the default route
  shaping::Effective effective;
};

// Resolves the domain's hosts (a configured route, else its MX records
// through `resolver`) and layers `rules` (may be null) over `opts`; the
// rules are held for the lookup's while (a reload may replace them).
boost::asio::awaitable<Explanation> Explain(const Options& opts,
                                            std::shared_ptr<const shaping::Rules> rules,
                                            dns::Resolver& resolver, ExplainQuery query);

}  // namespace sluice::delivery
