#pragma once
// For the command-line tool: runs one coroutine on `ioc` in this thread until
// it finishes, and returns its result (nullopt if it ended in an exception).

#include <chrono>
#include <exception>
#include <optional>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

namespace sluice::app {

namespace detail {
// Asio's co_spawn needs a default-constructible result; Result<T, E> is not.
template <class T>
boost::asio::awaitable<void> StoreInto(boost::asio::awaitable<T> a, std::optional<T>* out) {
  T value = co_await std::move(a);
  out->emplace(std::move(value));
}
}  // namespace detail

template <class T>
std::optional<T> RunSync(boost::asio::io_context& ioc, boost::asio::awaitable<T> a) {
  std::optional<T> out;
  bool failed = false;
  boost::asio::co_spawn(ioc, detail::StoreInto(std::move(a), &out),
                        [&failed](std::exception_ptr e) { failed = e != nullptr; });
  ioc.restart();
  while (!out && !failed) {
    ioc.run_one_for(std::chrono::milliseconds(100));
  }
  return out;
}

}  // namespace sluice::app
