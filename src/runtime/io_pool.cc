#include "runtime/io_pool.h"

#include <string>

#include <spdlog/spdlog.h>

#include "core/thread_name.h"

namespace sluice::runtime {

IoPool::IoPool(std::size_t threads) {
  if (threads == 0) {
    threads = 1;
  }
  for (std::size_t i = 0; i < threads; ++i) {
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
}

IoPool::~IoPool() {
  Stop();
  Join();
}

boost::asio::io_context& IoPool::Next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void IoPool::Start() {
  for (auto& ctx : contexts_) {
    threads_.emplace_back([c = ctx.get(), n = threads_.size()] {
      NameThisThread(("sluice-io-" + std::to_string(n)).c_str());
      while (true) {
        try {
          c->run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("io thread: unhandled exception: {}", e.what());
        }
      }
    });
  }
}

void IoPool::Stop() {
  for (auto& ctx : contexts_) {
    ctx->stop();
  }
}

void IoPool::Destroy() {
  guards_.clear();
  contexts_.clear();
}

void IoPool::Join() {
  for (auto& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
  threads_.clear();
}

}  // namespace sluice::runtime
