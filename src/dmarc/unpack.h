#pragma once
// Security: decompresses attachments anyone may send: the output is bounded
//           (a zip or gzip bomb stops at `max_bytes`), only the first XML
//           entry of a zip is read, and nothing is written to disk.
// Standards: RFC 7489 §7.2.1.1 (reports are gzip or zip compressed, or plain
//            XML), RFC 1952 (gzip), PKWARE APPNOTE (zip).
//
// The XML of a report attachment: gzip, zip or plain, told apart by its
// first bytes.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sluice::dmarc {

Result<std::string, std::string> Unpack(std::string_view bytes, std::size_t max_bytes = 32u << 20);

}  // namespace sluice::dmarc
