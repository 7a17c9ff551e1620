#include "app/shaping_cmd.h"

#include <cstdio>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include "app/run_sync.h"
#include "app/shaping_file.h"
#include "core/address.h"
#include "core/network.h"
#include "dns/unbound_resolver.h"
#include "queue/queue_name.h"
#include "shaping/rules.h"

namespace sluice::app {
namespace {

namespace asio = boost::asio;

int Usage() {
  std::fputs(
      "usage: sluice shaping check FILE\n"
      "       sluice [--config FILE] shaping explain DOMAIN [--source IP] [--tenant T]\n"
      "                                      [--campaign C]\n"
      "       sluice [--config FILE] shaping reload      (a running sluiced)\n",
      stderr);
  return 2;
}

int Check(const std::string& path) {
  auto loaded = LoadShapingRules(path);
  if (!loaded.rules) {
    std::fputs(loaded.errors.c_str(), stderr);
    return 1;
  }
  std::printf("%s: ok (%zu providers, %zu domains)\n", path.c_str(), loaded.rules->providers.size(),
              loaded.rules->domains.size());
  return 0;
}

int Explain(const Settings& st, const std::vector<std::string>& args) {
  auto domain = NormalizeDomain(args[1]);
  if (!domain) {
    std::fprintf(stderr, "sluice: not a domain: %s\n", args[1].c_str());
    return 2;
  }
  std::optional<std::string> source;
  std::string tenant;
  std::string campaign;
  for (std::size_t i = 2; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) {
      return Usage();
    }
    const std::string& value = args[i + 1];
    if (args[i] == "--source" && IpAddress::Parse(value)) {
      source = IpAddress::Parse(value)->ToString();
    } else if (args[i] == "--tenant" && queue::ValidTag(value)) {
      tenant = value;
    } else if (args[i] == "--campaign" && queue::ValidTag(value)) {
      campaign = value;
    } else {
      return Usage();
    }
  }
  if (!campaign.empty() && tenant.empty()) {
    std::fputs("sluice: --campaign needs --tenant (campaigns are a tenant's)\n", stderr);
    return 2;
  }
  // The pool the tenant's (and campaign's) mail goes from; without --source,
  // its first source is the one explained.
  const auto& d = st.delivery;
  const shaping::PoolChoice choice = shaping::ChoosePool(d.egress, tenant, campaign);
  std::string members;
  auto add_member = [&](std::size_t index, std::uint32_t weight) {
    const auto& src = d.egress.sources[index];
    members += fmt::format("{}{} {} (weight {})", members.empty() ? "" : ", ", src.name,
                           src.address, weight);
    if (!source) {
      source = src.address;
    }
  };
  if (choice.pool != nullptr) {
    for (std::size_t k = 0; k < choice.pool->sources.size(); ++k) {
      add_member(choice.pool->sources[k], choice.pool->weights[k]);
    }
  } else {
    for (std::size_t k = 0; k < d.egress.sources.size(); ++k) {
      add_member(k, k < d.egress.weights.size() ? d.egress.weights[k] : 1);
    }
  }
  if (!source) {
    source = d.client.source_address;
  }
  std::shared_ptr<const shaping::Rules> rules = st.delivery.shaping;
  if (!rules) {
    rules = std::make_shared<const shaping::Rules>();
  }
  // The hosts mail to the domain goes to: a configured route, or its MX records.
  std::vector<std::string> hosts;
  std::string via;
  const auto& routes = st.delivery.routes;
  auto route = routes.find(domain.value());
  if (route == routes.end()) {
    route = routes.find("*");
  }
  if (route != routes.end()) {
    for (const auto& h : route->second) {
      hosts.push_back(h.host);
    }
    via = "route";
  } else {
    asio::io_context ioc;
    auto r = dns::UnboundResolver::Create(ioc, st.dns);
    if (!r) {
      std::fprintf(stderr, "sluice: %s\n", r.error().c_str());
      return 1;
    }
    auto resolver = std::move(r).value();
    auto mx = RunSync(ioc, resolver->ResolveMx(domain.value()));
    if (mx && mx->ok()) {
      for (const auto& h : mx->value().hosts) {
        hosts.push_back(h.host);
      }
      via = "MX";
    } else {
      via =
          std::string("MX lookup failed: ") + (mx ? dns::ToString(mx->error()) : "internal error");
    }
  }
  auto e = shaping::Resolve(*rules, delivery::BuiltinShaping(st.delivery), domain.value(), hosts,
                            *source);
  std::string list;
  for (const auto& h : hosts) {
    list += (list.empty() ? "" : ", ") + h;
  }
  std::string pool = choice.pool != nullptr ? choice.pool->name + " (" + choice.why + ")"
                                            : std::string("(" + choice.why + ")");
  std::printf(
      "domain   %s\nhosts    %s (%s)\npool     %s\nsources  %s\nsource   %s\nprovider %s\n"
      "rules    %s\n\n%s",
      domain.value().c_str(), list.empty() ? "-" : list.c_str(), via.c_str(), pool.c_str(),
      members.empty() ? "(no [[egress.source]]: [delivery] source_address)" : members.c_str(),
      source->empty() ? "(default route)" : source->c_str(),
      e.provider.empty() ? "-" : e.provider.c_str(),
      st.shaping_file.empty() ? "(none: [delivery] shaping is not set)" : st.shaping_file.c_str(),
      shaping::Explain(e).c_str());
  return 0;
}

}  // namespace

int ShapingCommand(const Settings& st, const std::vector<std::string>& args) {
  if (args.size() == 2 && args[0] == "check") {
    return Check(args[1]);
  }
  if (args.size() >= 2 && args[0] == "explain") {
    return Explain(st, args);
  }
  return Usage();
}

}  // namespace sluice::app
