#pragma once
// Security: reads public DNS (and MTA-STS policies) about our own domains on a
//           schedule; a run takes one domain at a time, so it never floods
//           the resolver.
// Standards: those of doctor/doctor.h.
//
// Runs the doctor's checks of every sending domain at start and then every
// `interval`, keeps the results (HealthBook) and publishes each change as a
// HealthChanged record. Lives on one io_context (the resolver's).

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "core/clock.h"
#include "doctor/doctor.h"
#include "events/events.h"
#include "monitor/health_book.h"
#include "monitor/periodic.h"

namespace sluice::monitor {

struct HealthOptions {
  bool enabled = true;
  std::chrono::seconds interval = std::chrono::hours(1);
  // A next DKIM key's missing record fails this long before it takes over.
  std::chrono::seconds rotation_notice = std::chrono::hours(24 * 7);
  std::vector<std::string> domains;  // watched besides the DKIM domains
};

class HealthMonitor {
 public:
  // The checks of one domain at a time (doctor::Run with its options).
  using Runner = std::function<boost::asio::awaitable<std::vector<doctor::Check>>(
      std::string domain, TimePoint now)>;
  HealthMonitor(boost::asio::io_context& ctx, Runner run, std::vector<std::string> domains,
                std::chrono::seconds interval, events::Bus& bus, const Clock& clock)
      : run_(std::move(run)),
        domains_(std::move(domains)),
        bus_(bus),
        clock_(clock),
        periodic_(ctx, interval, "health checks") {}

  // The first run at once, then one every interval. On the context's thread
  // or before it runs.
  void Start();
  // On the context's thread; the context must stop before this is destroyed.
  void Stop();
  // One run over every domain (tests; Start's loop).
  static boost::asio::awaitable<void> RunOnce(HealthMonitor* self);

  const HealthBook& book() const { return book_; }
  const std::vector<std::string>& domains() const { return domains_; }

 private:
  Runner run_;
  std::vector<std::string> domains_;
  events::Bus& bus_;
  const Clock& clock_;
  Periodic periodic_;
  HealthBook book_;
};

}  // namespace sluice::monitor
