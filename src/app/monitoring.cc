#include "app/monitoring.h"

#include "app/doctor_cmd.h"

namespace sluice::app {

std::vector<std::string> WatchedDomains(const Settings& st) {
  std::set<std::string> names;
  for (const auto& d : SendingDomains(st)) {
    names.insert(d);
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
  std::vector<std::string> addresses;
  for (const auto& src : st.delivery.egress.sources) {
    addresses.push_back(src.address);
  }
  if (addresses.empty() && !st.delivery.client.source_address.empty()) {
    addresses.push_back(st.delivery.client.source_address);
  }
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

}  // namespace sluice::app
