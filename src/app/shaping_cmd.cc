#include "app/shaping_cmd.h"

#include <cstdio>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include "app/cli_resolver.h"
#include "app/run_sync.h"
#include "app/shaping_file.h"
#include "delivery/explain.h"
#include "dns/unbound_resolver.h"
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
  std::string source;
  std::string tenant;
  std::string campaign;
  for (std::size_t i = 2; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) {
      return Usage();
    }
    std::string* out = args[i] == "--source"     ? &source
                       : args[i] == "--tenant"   ? &tenant
                       : args[i] == "--campaign" ? &campaign
                                                 : nullptr;
    if (out == nullptr) {
      return Usage();
    }
    *out = args[i + 1];
  }
  auto query = delivery::MakeExplainQuery(args[1], source, tenant, campaign);
  if (!query) {
    std::fprintf(stderr, "sluice: %s\n", query.error().c_str());
    return 2;
  }
  asio::io_context ioc;
  auto resolver = CliResolver(ioc, st);
  if (!resolver) {
    return 1;
  }
  auto explained = RunSync(ioc, delivery::Explain(st.delivery, st.delivery.shaping, *resolver,
                                                  std::move(query).value()));
  if (!explained) {
    std::fputs("sluice: internal error\n", stderr);
    return 1;
  }
  const delivery::Explanation& e = *explained;
  std::string hosts;
  for (const auto& h : e.hosts) {
    hosts += (hosts.empty() ? "" : ", ") + h;
  }
  std::string members;
  for (const auto& m : e.sources) {
    members += fmt::format("{}{} {} (weight {})", members.empty() ? "" : ", ", m.name, m.address,
                           m.weight);
  }
  const std::string pool =
      e.pool.empty() ? "(" + e.pool_why + ")" : e.pool + " (" + e.pool_why + ")";
  std::printf(
      "domain   %s\nhosts    %s (%s)\npool     %s\nsources  %s\nsource   %s\nprovider %s\n"
      "rules    %s\n\n%s",
      e.domain.c_str(), hosts.empty() ? "-" : hosts.c_str(), e.via.c_str(), pool.c_str(),
      members.empty() ? "(no [[egress.source]]: [delivery] source_address)" : members.c_str(),
      e.source.empty() ? "(default route)" : e.source.c_str(),
      e.effective.provider.empty() ? "-" : e.effective.provider.c_str(),
      st.shaping_file.empty() ? "(none: [delivery] shaping is not set)" : st.shaping_file.c_str(),
      shaping::Explain(e.effective).c_str());
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
