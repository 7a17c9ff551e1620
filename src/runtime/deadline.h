#pragma once
// A connection's watchdog deadline that is cheap to move.
//
// Moving an Asio timer on every read and write re-arms the reactor's timerfd
// each time (a system call, several per SMTP transaction). A Deadline only
// records the new time; its timer is re-armed when it fires early, or moved
// at once when the new deadline is earlier than the armed one. The watchdog
// coroutine loops on Wait().

#include <chrono>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

namespace sluice::runtime {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Deadline(const boost::asio::any_io_executor& ex) : timer_(ex) {}

  // The deadline is `d` from now (Clock::duration::max(): none).
  void Set(Clock::duration d);
  void SetAt(Clock::time_point t);
  Clock::time_point at() const { return at_; }
  // Ends Wait() with false, now and for good.
  void Cancel();

  // Returns true once the deadline has passed, false after Cancel().
  boost::asio::awaitable<bool> Wait();

 private:
  boost::asio::steady_timer timer_;
  Clock::time_point at_ = Clock::time_point::max();
  bool cancelled_ = false;
};

}  // namespace sluice::runtime
