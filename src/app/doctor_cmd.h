#pragma once
// `sluice doctor DOMAIN [--ip ADDRESS]... [--ehlo NAME]`: checks a sending
// domain's DNS through the configured resolver (doctor/doctor.h).

#include <string>
#include <vector>

#include "app/settings.h"

namespace sluice::app {

// args: everything after "doctor". Exit status 0 when nothing failed.
int DoctorCommand(const Settings& st, const std::vector<std::string>& args);

}  // namespace sluice::app
