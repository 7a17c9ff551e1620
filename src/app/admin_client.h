#pragma once
// The CLI's end of sluiced's admin socket (api/admin.h).

#include <string>

namespace sluice::app {

// A connected socket descriptor, or -1 after saying why on stderr.
int ConnectAdmin(const std::string& path);
// Writes all of `data`; false on failure.
bool WriteAll(int fd, std::string_view data);

}  // namespace sluice::app
