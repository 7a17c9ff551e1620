#pragma once
// `sluice dkim keygen|sign|verify`: key management and checks for operators.
//
// Security: writes private keys with mode 0600 and never over an existing file.

#include <string>
#include <vector>

#include "app/settings.h"

namespace sluice::app {

// args: everything after "dkim". Returns the process exit status.
int DkimCommand(const Settings& st, const std::vector<std::string>& args);

}  // namespace sluice::app
