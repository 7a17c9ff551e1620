#pragma once
// A completion handler for co_spawn'd tasks that nothing awaits: an exception
// escaping the task is logged ("<what>: <message>"), never swallowed.

#include <exception>

#include <spdlog/spdlog.h>

namespace sluice::runtime {

struct LogErrors {
  const char* what;
  void operator()(std::exception_ptr e) const {
    if (!e) {
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("{}: {}", what, ex.what());
    } catch (...) {
      spdlog::error("{}: unknown exception", what);
    }
  }
};

}  // namespace sluice::runtime
