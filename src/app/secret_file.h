#pragma once
// Security: the file holds a key (mode 0600); it is made with the kernel's
//           randomness and never logged.
//
// A node's secret kept in a file: read, or made on first start.

#include <string>

#include "core/result.h"

namespace sluice::app {

// The secret in `path` (64 hex digits, 32 octets of randomness, made if the
// file does not exist); an error names the file and what is wrong.
Result<std::string, std::string> LoadOrCreateSecret(const std::string& path);

}  // namespace sluice::app
