#pragma once
// A pass of checks run at once and then `interval` after each pass ends, on
// one io_context, until Stop(): the schedule the monitors share (inline:
// a few lines, used by two classes).

#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace sluice::monitor {

class Periodic {
 public:
  using Pass = std::function<boost::asio::awaitable<void>()>;
  // `what` names the schedule in the log if a pass throws.
  Periodic(boost::asio::io_context& ctx, std::chrono::seconds interval, std::string what)
      : ctx_(ctx), interval_(interval), what_(std::move(what)), timer_(ctx) {}

  // On the context's thread or before it runs.
  void Start(Pass pass);
  // On the context's thread; the context must stop before this is destroyed.
  void Stop();
  // A pass checks this between its steps.
  bool stopped() const { return stopped_; }

 private:
  static boost::asio::awaitable<void> Loop(Periodic* self, Pass pass);

  boost::asio::io_context& ctx_;
  std::chrono::seconds interval_;
  std::string what_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
};

inline boost::asio::awaitable<void> Periodic::Loop(Periodic* self, Pass pass) {
  while (!self->stopped_) {
    co_await pass();
    self->timer_.expires_after(self->interval_);
    auto [ec] = co_await self->timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec) {
      co_return;
    }
  }
}

inline void Periodic::Start(Pass pass) {
  boost::asio::co_spawn(ctx_, Loop(this, std::move(pass)), [what = what_](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        spdlog::error("{} stopped: {}", what, x.what());
      }
    }
  });
}

inline void Periodic::Stop() {
  stopped_ = true;
  timer_.cancel();
}

}  // namespace sluice::monitor
