#pragma once
// Security: scans header sections of messages from untrusted senders; bounded by the input.
// Standards: RFC 5322 §2.2 (header fields), §3.6 (Date, Message-ID),
//            RFC 5321 §4.4 (trace information: Received), RFC 3848 (protocol keywords).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::message {

// The header section: everything before the first empty line (all of `data` if none).
std::string_view HeaderSection(std::string_view data);

// True if the header section has a field named `name` (case-insensitive).
bool HasField(std::string_view data, std::string_view name);
// How many fields of that name the header section has.
std::size_t CountFields(std::string_view data, std::string_view name);

// Removes every field named `name` (with its continuation lines) from the
// header section of `data`; returns the first one's value, unfolded and
// trimmed (nullopt if there was none). For control fields such as X-Tenant
// that steer delivery and must not travel on.
std::optional<std::string> TakeField(std::string& data, std::string_view name);
// The first field named `name`'s value, unfolded and trimmed, or nullopt.
std::optional<std::string> FieldValue(std::string_view data, std::string_view name);

struct TraceInfo {
  std::string helo;  // as the client gave it; sanitised here
  std::string client_ip;
  std::string by_host;      // our hostname
  std::string protocol;     // "ESMTPSA", ...
  std::string id;           // spool id
  std::string tls_version;  // empty if no TLS
  std::string tls_cipher;
  int tls_bits = 0;
  std::string single_recipient;  // only named when there is exactly one
  std::chrono::system_clock::time_point when;
};

// A complete "Received:" field, folded, ending in CRLF.
std::string BuildReceived(const TraceInfo& t);

}  // namespace sluice::message
