// Fuzz target: the DATA stream decoder (smtp/proto/data_decoder.h). The input is
// split at its first byte's value so chunk boundaries are fuzzed as well.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/proto/data_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  std::size_t split = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  sluice::smtp::DataDecoder d({.max_size = 4096, .max_line_length = 64});
  std::string out;
  std::size_t consumed = 0;
  while (consumed < in.size()) {
    std::size_t n = split == 0 ? in.size() : split;
    auto step = d.Feed(in.substr(consumed, n), out);
    consumed += step.consumed;
    if (step.done || d.fatal()) {
      break;
    }
    if (step.consumed == 0) {
      std::abort();  // no progress without an end or an error would hang a session
    }
  }
  if (out.size() > 4096 + 2) {
    std::abort();  // the size limit must bound what is kept
  }
  return 0;
}
