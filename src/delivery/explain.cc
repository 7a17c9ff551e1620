#include "delivery/explain.h"

#include "core/address.h"
#include "core/network.h"
#include "queue/queue_name.h"

namespace sluice::delivery {

Result<ExplainQuery, std::string> MakeExplainQuery(std::string_view domain, std::string_view source,
                                                   std::string_view tenant,
                                                   std::string_view campaign) {
  ExplainQuery q;
  if (domain.empty()) {
    return Fail(std::string("a domain is required"));
  }
  auto d = NormalizeDomain(domain);
  if (!d) {
    return Fail("not a domain: " + std::string(domain));
  }
  q.domain = std::move(d).value();
  if (!source.empty()) {
    auto ip = IpAddress::Parse(source);
    if (!ip) {
      return Fail("not an IP address: " + std::string(source));
    }
    q.source = ip->ToString();
  }
  for (auto [tag, out] : {std::pair{tenant, &q.tenant}, std::pair{campaign, &q.campaign}}) {
    if (!tag.empty() && !queue::ValidTag(tag)) {
      return Fail("not a tenant or campaign name: " + std::string(tag) +
                  " (1-64 of A-Z a-z 0-9 . _ -)");
    }
    *out = std::string(tag);
  }
  if (!q.campaign.empty() && q.tenant.empty()) {
    return Fail(std::string("a campaign needs its tenant (campaigns are a tenant's)"));
  }
  return q;
}

boost::asio::awaitable<Explanation> Explain(const Options& opts,
                                            std::shared_ptr<const shaping::Rules> rules,
                                            dns::Resolver& resolver, ExplainQuery query) {
  Explanation out;
  out.domain = query.domain;
  // The pool the tenant's (and campaign's) mail goes from; without a source
  // asked for, its first source is the one explained.
  const shaping::PoolChoice choice = shaping::ChoosePool(opts.egress, query.tenant, query.campaign);
  auto add = [&](std::size_t index, std::uint32_t weight) {
    const auto& src = opts.egress.sources[index];
    out.sources.push_back({src.name, src.address, weight});
  };
  if (choice.pool != nullptr) {
    out.pool = choice.pool->name;
    for (std::size_t k = 0; k < choice.pool->sources.size(); ++k) {
      add(choice.pool->sources[k], choice.pool->weights[k]);
    }
  } else {
    for (std::size_t k = 0; k < opts.egress.sources.size(); ++k) {
      add(k, k < opts.egress.weights.size() ? opts.egress.weights[k] : 1);
    }
  }
  out.pool_why = choice.why;
  if (query.source) {
    out.source = *query.source;
  } else if (!out.sources.empty()) {
    out.source = out.sources.front().address;
  } else {
    out.source = opts.client.source_address;
  }
  // The hosts mail to the domain goes to: a configured route, or its MX records.
  auto route = opts.routes.find(query.domain);
  if (route == opts.routes.end()) {
    route = opts.routes.find("*");
  }
  if (route != opts.routes.end()) {
    for (const auto& h : route->second) {
      out.hosts.push_back(h.host);
    }
    out.via = "route";
  } else {
    auto mx = co_await resolver.ResolveMx(query.domain);
    if (mx.ok()) {
      for (const auto& h : mx.value().hosts) {
        out.hosts.push_back(h.host);
      }
      out.via = "MX";
    } else {
      out.via = std::string("MX lookup failed: ") + dns::ToString(mx.error());
    }
  }
  const shaping::Rules none;
  out.effective = shaping::Resolve(rules ? *rules : none, BuiltinShaping(opts), query.domain,
                                   out.hosts, out.source);
  co_return out;
}

}  // namespace sluice::delivery
