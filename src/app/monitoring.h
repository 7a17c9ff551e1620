#pragma once
// The daemon's watchers of its own standing: the sending domains' DNS on a
// schedule ([health], monitor/health_monitor.h) and the blocklists
// ([blocklists], monitor/blocklist_monitor.h). Built by sluiced.cc on the
// delivery thread's context (they share its resolver and its dispatcher).

#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "app/daemon_metrics.h"
#include "app/settings.h"
#include "core/clock.h"
#include "delivery/dispatcher.h"
#include "dmarc/intake.h"
#include "dmarc/store.h"
#include "dns/resolver.h"
#include "events/events.h"
#include "monitor/blocklist_monitor.h"
#include "monitor/health_monitor.h"
#include "mtasts/fetch.h"

namespace sluice::app {

// The domains [health] watches: those the configuration signs for, the
// tenants' `domains` and [health] `domains`, sorted, each once.
std::vector<std::string> WatchedDomains(const Settings& st);

// The scheduled checks, not yet started; null when [health] is off or
// there is nothing to watch. `sts_fetcher` may be null (no MTA-STS fetch).
std::unique_ptr<monitor::HealthMonitor> MakeHealthMonitor(const Settings& st,
                                                          boost::asio::io_context& ctx,
                                                          dns::Resolver& resolver,
                                                          mtasts::Fetcher* sts_fetcher,
                                                          events::Bus& bus, const Clock& clock);

// The blocklist checks of the egress addresses and watched domains, not yet
// started; null when [blocklists] is off or there is nothing to check.
// `dispatcher` (may be null) takes listed sources out of their pools.
std::unique_ptr<monitor::BlocklistMonitor> MakeBlocklistMonitor(
    const Settings& st, boost::asio::io_context& ctx, dns::Resolver& resolver,
    delivery::Dispatcher* dispatcher, events::Bus& bus, const Clock& clock);

// The egress addresses mail leaves from ([[egress.source]], else [delivery]
// source_address), canonical spelling.
std::set<std::string> OwnAddresses(const Settings& st);

// [dmarc]: the report store and the intake feedback hands rua mail to; both
// null when no address is configured. `metrics` (may be null) counts reports.
struct DmarcParts {
  std::unique_ptr<dmarc::Store> store;
  std::unique_ptr<dmarc::Intake> intake;
};
Result<DmarcParts, std::string> MakeDmarc(const Settings& st, DaemonMetrics* metrics);

}  // namespace sluice::app
