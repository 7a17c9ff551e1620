#pragma once
// Runs blocking work (password hashing, file I/O) on a dedicated pool and
// resumes the awaiting coroutine on its own executor, so no reactor thread blocks.

#include <type_traits>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sluice::runtime {

// `fn` must return a value and must not throw.
template <class Fn>
auto RunBlocking(boost::asio::thread_pool& pool, Fn fn) {
  using R = std::invoke_result_t<Fn>;
  static_assert(!std::is_void_v<R>, "RunBlocking needs a result");
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(R)>(
      [&pool](auto handler, Fn f) {
        auto home = boost::asio::get_associated_executor(handler);
        boost::asio::post(pool, [h = std::move(handler), f = std::move(f), home]() mutable {
          R r = f();
          boost::asio::post(
              home, [h = std::move(h), r = std::move(r)]() mutable { std::move(h)(std::move(r)); });
        });
      },
      boost::asio::use_awaitable, std::move(fn));
}

}  // namespace sluice::runtime
