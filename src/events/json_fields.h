#pragma once
// Within events/: helpers the record writers share.

#include <string>

#include <boost/json/value.hpp>

namespace sluice::events::detail {

// The string, or JSON null when it is empty.
inline boost::json::value OrNull(const std::string& s) {
  return s.empty() ? boost::json::value(nullptr) : boost::json::value(s);
}

}  // namespace sluice::events::detail
