#pragma once
// `sluice tls check DOMAIN`: the TLS policy delivery would apply to each of
// the domain's mail exchangers, and why (delivery/tls_policy.h): the
// configured mode, the domain's MTA-STS policy (fetched now, and the one the
// daemon has cached), each host's DANE TLSA records.

#include <string>
#include <vector>

#include "app/settings.h"

namespace sluice::app {

// args: everything after "tls". Exit status 0 when every host can be used.
int TlsCommand(const Settings& st, const std::vector<std::string>& args);

}  // namespace sluice::app
