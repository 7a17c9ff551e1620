#pragma once
// The CLI's end of sluiced's admin socket (api/admin.h).

#include <string>

#include "core/durable_file.h"  // WriteAll

namespace sluice::app {

// A connected socket descriptor, or -1 after saying why on stderr.
int ConnectAdmin(const std::string& path);

}  // namespace sluice::app
