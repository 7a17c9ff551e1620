#pragma once
// `sluice doctor DOMAIN [--ip ADDRESS]... [--ehlo NAME]`: checks a sending
// domain's DNS through the configured resolver (doctor/doctor.h).

#include <string>
#include <vector>

#include "app/settings.h"
#include "doctor/doctor.h"

namespace sluice::app {

// The checks' options for `domain` from the configuration: the egress
// sources' addresses and EHLO names (or `ips` and `ehlo` where given), the
// domain's DKIM keys, the delivery port. The MTA-STS fetcher is the caller's.
doctor::Options DoctorOptions(const Settings& st, std::string domain, std::vector<std::string> ips,
                              std::string ehlo);
// The domains the configuration signs for (DKIM), sorted: the ones to check.
std::vector<std::string> SendingDomains(const Settings& st);

// args: everything after "doctor". Exit status 0 when nothing failed.
int DoctorCommand(const Settings& st, const std::vector<std::string>& args);

}  // namespace sluice::app
