#pragma once
// `sluice bounce classify "550 5.1.1 ..."`: which class (and rule) a reply
// gets under the configured rules; `sluice bounce check FILE`: validates a
// rules file and checks that each rule takes its own example.

#include <string>
#include <vector>

#include "app/settings.h"

namespace sluice::app {

int BounceCommand(const Settings& st, const std::vector<std::string>& args);

}  // namespace sluice::app
