#pragma once
// CRC-32C (Castagnoli, RFC 3720 appendix B.4): the checksum the append-only
// journals put on each record, so that a record torn by a power loss is told
// from a whole one.

#include <cstdint>
#include <string_view>

namespace sluice {

// Extends `crc` (0 to begin) over `data`.
std::uint32_t Crc32c(std::string_view data, std::uint32_t crc = 0);

}  // namespace sluice
