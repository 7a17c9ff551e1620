// Fuzz target: lines of a suppression import (suppression/csv.h). Whatever
// comes in, reading ends with an entry or a message; an entry's address is a
// lookup key and its scope is valid, and it writes out as CSV that reads back
// as the same entry.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "suppression/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::suppression;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  CsvReader reader(Entry{}, now);
  while (!in.empty()) {
    const auto nl = in.find('\n');
    auto e = reader.Line(in.substr(0, nl));
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    if (!e || !e->has_value()) {
      continue;
    }
    const Entry& entry = **e;
    if (Key(entry.address) != entry.address || !Valid(entry.scope)) {
      std::abort();
    }
    CsvReader again(Entry{}, now);
    auto back = again.Line(ToCsv(entry));
    if (!back || !back->has_value() || (*back)->address != entry.address ||
        (*back)->scope != entry.scope || (*back)->reason != entry.reason) {
      std::abort();
    }
  }
  return 0;
}
