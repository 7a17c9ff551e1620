#pragma once
// Security: reads public DNS and fetches one public HTTPS policy; prints it.
// Standards: RFC 8461 (MTA-STS: the TXT record, the policy, MX matching),
//            RFC 7672 §3.1 (usable TLSA records for SMTP), RFC 8460 §3 (the
//            TLS-RPT record).
//
// What senders see of a domain's inbound transport security: its MTA-STS
// policy (fetched as a sender would), the TLSA records of its MX hosts, and
// where it wants TLS reports. Part of `sluice doctor`.

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/result.h"
#include "dns/resolver.h"
#include "doctor/doctor.h"
#include "mtasts/fetch.h"

namespace sluice::doctor {

// The checks, appended to `out`; `fetcher` null: the policy is not fetched.
boost::asio::awaitable<void> CheckTransport(dns::Resolver& r, mtasts::Fetcher* fetcher,
                                            std::string domain, std::uint16_t smtp_port,
                                            std::vector<Check>& out);

}  // namespace sluice::doctor
