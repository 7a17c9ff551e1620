#pragma once
// How a message's data is laid out in the data column family: in chunks of
// kDataChunk octets, so that delivery reads a large message a piece at a time.
// Chunk 0 is under the message's key (as a whole message was before chunks,
// so older spools read the same); chunk i > 0 under the key followed by i as
// four big-endian octets, which sorts a message's chunks together and in order.

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::spool {

inline constexpr std::size_t kDataChunk = 1 << 20;
inline constexpr std::size_t kMessageKeySize = 16;  // SpoolId::Key()

// The key of chunk `index` of the message whose key is `key`.
std::string ChunkKey(std::string_view key, std::uint32_t index);
// Chunks a message of `size` octets is stored in (at least one).
std::uint32_t ChunkCount(std::uint64_t size);
// Chunk `index` of the concatenation a + b, as at most two pieces.
struct ChunkPieces {
  std::string_view first;
  std::string_view second;
};
ChunkPieces ChunkOf(std::string_view a, std::string_view b, std::uint32_t index);

}  // namespace sluice::spool
