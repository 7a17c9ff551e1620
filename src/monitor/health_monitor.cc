#include "monitor/health_monitor.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace sluice::monitor {

namespace asio = boost::asio;

asio::awaitable<void> HealthMonitor::RunOnce(HealthMonitor* self) {
  for (const auto& domain : self->domains_) {
    if (self->stopped_) {
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

asio::awaitable<void> HealthMonitor::Loop(HealthMonitor* self) {
  while (!self->stopped_) {
    co_await RunOnce(self);
    self->timer_.expires_after(self->interval_);
    auto [ec] = co_await self->timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      co_return;
    }
  }
}

void HealthMonitor::Start() {
  if (domains_.empty()) {
    return;
  }
  asio::co_spawn(ctx_, Loop(this), [](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        spdlog::error("health checks stopped: {}", x.what());
      }
    }
  });
}

void HealthMonitor::Stop() {
  stopped_ = true;
  timer_.cancel();
}

}  // namespace sluice::monitor
