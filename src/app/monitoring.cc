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

}  // namespace sluice::app
