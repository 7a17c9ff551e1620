#include "spool/data_chunks.h"

#include <algorithm>

namespace sluice::spool {

std::string ChunkKey(std::string_view key, std::uint32_t index) {
  std::string k(key);
  if (index != 0) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      k += static_cast<char>((index >> shift) & 0xff);
    }
  }
  return k;
}

std::uint32_t ChunkCount(std::uint64_t size) {
  return static_cast<std::uint32_t>(
      std::max<std::uint64_t>(1, (size + kDataChunk - 1) / kDataChunk));
}

ChunkPieces ChunkOf(std::string_view a, std::string_view b, std::uint32_t index) {
  const std::uint64_t begin = std::uint64_t{index} * kDataChunk;
  const std::uint64_t end = std::min<std::uint64_t>(begin + kDataChunk, a.size() + b.size());
  ChunkPieces p;
  if (begin >= end) {
    return p;
  }
  if (begin < a.size()) {
    p.first = a.substr(begin, std::min<std::uint64_t>(end, a.size()) - begin);
  }
  if (end > a.size()) {
    const std::uint64_t from = begin > a.size() ? begin - a.size() : 0;
    p.second = b.substr(from, end - a.size() - from);
  }
  return p;
}

}  // namespace sluice::spool
