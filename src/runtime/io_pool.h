#pragma once
// Security: none (no external input).
// Standards: none.
//
// A pool of io_contexts, one thread each. A connection lives on one context for
// its whole life, so its handlers never run concurrently and need no strand.

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

namespace sluice::runtime {

class IoPool {
 public:
  explicit IoPool(std::size_t threads);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  // Round-robin choice of a context for a new connection.
  boost::asio::io_context& Next();
  boost::asio::io_context& At(std::size_t i) { return *contexts_[i]; }
  std::size_t size() const { return contexts_.size(); }

  void Start();
  void Stop();
  void Join();
  // After Join(): destroys the contexts and so every handler still queued on
  // them (coroutine frames included), while the objects they refer to still exist.
  void Destroy();

 private:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace sluice::runtime
