#pragma once
// `sluice suppression import|export`: CSV streamed over the admin socket.

#include <string>
#include <vector>

#include "app/settings.h"

namespace sluice::app {

// args: "import" [FILE] [flags...] (FILE absent or "-": stdin), or "export" [flags...].
int SuppressionStream(const Settings& st, const std::vector<std::string>& args);

}  // namespace sluice::app
