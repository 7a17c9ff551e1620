#include "monitor/health_monitor.h"

#include <spdlog/spdlog.h>

namespace sluice::monitor {

namespace asio = boost::asio;

asio::awaitable<void> HealthMonitor::RunOnce(HealthMonitor* self) {
  for (const auto& domain : self->domains_) {
    if (self->periodic_.stopped()) {
      co_return;
    }
    const TimePoint now = self->clock_.Now();
    std::vector<doctor::Check> checks = co_await self->run_(domain, now);
    for (const auto& change : self->book_.Record(domain, checks, self->clock_.Now())) {
      if (change.status == "fail") {
        spdlog::warn("health: {} {}: {} ({}){}", change.domain, change.check, change.status,
                     change.detail, change.fix.empty() ? "" : "; fix: " + change.fix);
      } else {
        spdlog::info("health: {} {}: {} ({})", change.domain, change.check, change.status,
                     change.detail);
      }
      self->bus_.Publish(change);
    }
  }
}

void HealthMonitor::Start() {
  if (!domains_.empty()) {
    periodic_.Start([this] { return RunOnce(this); });
  }
}

void HealthMonitor::Stop() {
  periodic_.Stop();
}

}  // namespace sluice::monitor
