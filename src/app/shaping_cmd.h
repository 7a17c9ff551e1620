#pragma once
// `sluice shaping check FILE | explain DOMAIN [--source IP]`: validates a rules
// file, and shows the settings mail to a domain gets, each with its rule.

#include <string>
#include <vector>

#include "app/settings.h"

namespace sluice::app {

// args: everything after "shaping". Returns the exit status.
int ShapingCommand(const Settings& st, const std::vector<std::string>& args);

}  // namespace sluice::app
