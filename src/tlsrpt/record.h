#pragma once
// Standards: RFC 8460 §3 (the "_smtp._tls" TXT record: v=TLSRPTv1; rua=...).
//
// Where a domain wants its TLS reports: the rua URIs of its TLS-RPT record.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sluice::tlsrpt {

// "v=TLSRPTv1; rua=mailto:a@example.com,https://r.example/" -> the rua URIs
// (mailto: and https: only; at least one).
Result<std::vector<std::string>, std::string> ParseRecord(std::string_view txt);

// Of a name's TXT strings, those that start "v=TLSRPTv1" (RFC 8460 §3:
// exactly one is usable; none or several means no reports).
std::vector<std::string> RecordsIn(const std::vector<std::string>& txt);

}  // namespace sluice::tlsrpt
