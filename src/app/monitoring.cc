#include "app/monitoring.h"

#include "app/doctor_cmd.h"
#include "core/network.h"

namespace sluice::app {

std::vector<std::string> WatchedDomains(const Settings& st) {
  std::set<std::string> names;
  for (const auto& d : SendingDomains(st)) {
    names.insert(d);
  }
  for (const auto& [tenant, domains] : st.ingest.tenant_domains) {
    names.insert(domains.begin(), domains.end());  // what each tenant may send from
  }
  names.insert(st.health.domains.begin(), st.health.domains.end());
  return {names.begin(), names.end()};
}

std::unique_ptr<monitor::HealthMonitor> MakeHealthMonitor(const Settings& st,
                                                          boost::asio::io_context& ctx,
                                                          dns::Resolver& resolver,
                                                          mtasts::Fetcher* sts_fetcher,
                                                          events::Bus& bus, const Clock& clock) {
  auto domains = WatchedDomains(st);
  if (!st.health.enabled || domains.empty()) {
    return nullptr;
  }
  auto run = [&st, &resolver, sts_fetcher](std::string domain, monitor::TimePoint now) {
    doctor::Options o = DoctorOptions(st, std::move(domain), {}, "");
    o.sts_fetcher = sts_fetcher;
    o.now = now;
    o.rotation_notice = st.health.rotation_notice;
    return doctor::Run(resolver, std::move(o));
  };
  return std::make_unique<monitor::HealthMonitor>(ctx, std::move(run), std::move(domains),
                                                  st.health.interval, bus, clock);
}

std::unique_ptr<monitor::BlocklistMonitor> MakeBlocklistMonitor(
    const Settings& st, boost::asio::io_context& ctx, dns::Resolver& resolver,
    delivery::Dispatcher* dispatcher, events::Bus& bus, const Clock& clock) {
  auto own = OwnAddresses(st);
  std::vector<std::string> addresses(own.begin(), own.end());
  auto domains = WatchedDomains(st);
  if (!st.blocklists.enabled || st.blocklists.lists.empty() ||
      (addresses.empty() && domains.empty())) {
    return nullptr;
  }
  monitor::BlocklistMonitor::OnSource on_source;
  if (dispatcher != nullptr) {
    on_source = [dispatcher](const std::string& address, bool out) {
      return dispatcher->SetSourceOut(address, out);
    };
  }
  return std::make_unique<monitor::BlocklistMonitor>(
      ctx, resolver, st.blocklists.lists, std::move(addresses), std::move(domains),
      st.blocklists.interval, bus, clock, std::move(on_source));
}

std::set<std::string> OwnAddresses(const Settings& st) {
  std::set<std::string> out;
  auto add = [&out](const std::string& a) {
    if (auto ip = IpAddress::Parse(a)) {
      out.insert(ip->ToString());
    }
  };
  for (const auto& src : st.delivery.egress.sources) {
    add(src.address);
  }
  if (out.empty()) {
    add(st.delivery.client.source_address);
  }
  return out;
}

Result<DmarcParts, std::string> MakeDmarc(const Settings& st, DaemonMetrics* metrics) {
  DmarcParts parts;
  if (st.dmarc.addresses.empty()) {
    return parts;
  }
  auto store = dmarc::Store::Open(st.dmarc.store);
  if (!store) {
    return Fail("[dmarc] " + store.error());
  }
  parts.store = std::move(store).value();
  // Reports are taken for the domains we watch (and their subdomains), and
  // the rua addresses' own.
  auto domains = WatchedDomains(st);
  for (const auto& a : st.dmarc.addresses) {
    domains.push_back(a.substr(a.rfind('@') + 1));
  }
  dmarc::Intake::OnStored on_stored;
  if (metrics != nullptr) {
    // Every series from zero, so the first failure is an increase.
    metrics->DmarcSeries(std::set<std::string>(domains.begin(), domains.end()));
    on_stored = [metrics, own = OwnAddresses(st),
                 watched = std::set<std::string>(domains.begin(), domains.end())](
                    const dmarc::AggregateReport& r) { metrics->DmarcReport(r, own, watched); };
  }
  parts.intake =
      std::make_unique<dmarc::Intake>(*parts.store, dmarc::ParseLimits{}, std::move(domains),
                                      std::move(on_stored), st.dmarc.max_daily_size);
  return parts;
}

}  // namespace sluice::app
