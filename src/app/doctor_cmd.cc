#include "app/doctor_cmd.h"

#include <cstdio>
#include <optional>
#include <set>

#include <boost/asio/io_context.hpp>

#include "app/cli_resolver.h"
#include "app/run_sync.h"
#include "core/address.h"
#include "core/network.h"
#include "dns/unbound_resolver.h"
#include "doctor/doctor.h"
#include "mtasts/fetch.h"
#include "tls/peer.h"

namespace sluice::app {
namespace {

namespace asio = boost::asio;

int Usage() {
  std::fputs("usage: sluice [--config FILE] doctor DOMAIN [--ip ADDRESS]... [--ehlo NAME]\n",
             stderr);
  return 2;
}

}  // namespace

doctor::Options DoctorOptions(const Settings& st, std::string domain, std::vector<std::string> ips,
                              std::string ehlo) {
  doctor::Options o;
  o.domain = std::move(domain);
  o.ehlo_name = ehlo.empty() ? st.delivery.client.ehlo_name : std::move(ehlo);
  if (ips.empty()) {
    // The configured egress sources, each with its own EHLO name.
    for (const auto& src : st.delivery.egress.sources) {
      ips.push_back(src.address);
      o.ehlo_by_ip[src.address] = src.ehlo_name;
    }
    if (ips.empty() && !st.delivery.client.source_address.empty()) {
      ips.push_back(st.delivery.client.source_address);
    }
  }
  o.egress_ips = std::move(ips);
  for (const auto& d : st.dkim.domains) {
    if (d.domain == o.domain || d.signing_domain == o.domain) {
      for (const auto& k : d.keys) {
        o.selectors.push_back({k.selector, d.signing_domain, k.key, k.valid_from, k.valid_until});
      }
    }
  }
  o.smtp_port = st.delivery.port;
  return o;
}

std::vector<std::string> SendingDomains(const Settings& st) {
  std::set<std::string> names;
  for (const auto& d : st.dkim.domains) {
    names.insert(d.domain);
    names.insert(d.signing_domain);
  }
  names.erase("");
  return {names.begin(), names.end()};
}

int DoctorCommand(const Settings& st, const std::vector<std::string>& args) {
  if (args.empty()) {
    return Usage();
  }
  auto domain = NormalizeDomain(args[0]);
  if (!domain) {
    std::fprintf(stderr, "sluice: not a domain: %s\n", args[0].c_str());
    return 2;
  }
  std::string ehlo;
  std::vector<std::string> ips;
  for (std::size_t i = 1; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) {
      return Usage();
    }
    if (args[i] == "--ip") {
      if (!IpAddress::Parse(args[i + 1])) {
        std::fprintf(stderr, "sluice: not an IP address: %s\n", args[i + 1].c_str());
        return 2;
      }
      ips.push_back(args[i + 1]);
    } else if (args[i] == "--ehlo") {
      ehlo = args[i + 1];
    } else {
      return Usage();
    }
  }
  doctor::Options o = DoctorOptions(st, domain.value(), std::move(ips), std::move(ehlo));
  asio::io_context ioc;
  auto resolver = CliResolver(ioc, st);
  if (!resolver) {
    return 1;
  }
  // The domain's MTA-STS policy, fetched as senders would ([delivery] ca_file).
  std::unique_ptr<mtasts::Fetcher> fetcher;
  if (auto ctx = tls::MakeClientContext(st.delivery_tls)) {
    fetcher = mtasts::MakeHttpsFetcher(ioc.get_executor(), *resolver, std::move(ctx).value(),
                                       {.port = st.mta_sts_port});
    o.sts_fetcher = fetcher.get();
  }
  auto checks = RunSync(ioc, doctor::Run(*resolver, std::move(o)));
  if (!checks) {
    std::fputs("sluice: the checks stopped with an internal error\n", stderr);
    return 1;
  }
  std::fputs(doctor::Format(*checks).c_str(), stdout);
  return doctor::AnyFailed(*checks) ? 1 : 0;
}

}  // namespace sluice::app
