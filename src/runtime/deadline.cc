#include "runtime/deadline.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sluice::runtime {

void Deadline::Set(Clock::duration d) {
  auto now = Clock::now();
  SetAt(d >= Clock::time_point::max() - now ? Clock::time_point::max() : now + d);
}

void Deadline::SetAt(Clock::time_point t) {
  at_ = t;
  if (t < timer_.expiry()) {
    timer_.expires_at(t);  // earlier than armed: the waiter re-arms on its wake-up
  }
}

void Deadline::Cancel() {
  cancelled_ = true;
  timer_.cancel();
}

boost::asio::awaitable<bool> Deadline::Wait() {
  while (!cancelled_) {
    if (Clock::now() >= at_) {
      co_return true;
    }
    timer_.expires_at(at_);
    auto waited = co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    (void)waited;
  }
  co_return false;
}

}  // namespace sluice::runtime
