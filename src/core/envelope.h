#pragma once
// Envelope: what the SMTP transaction said about a message, apart from its content.
// Standards: RFC 5321 (MAIL/RCPT), RFC 3461 (DSN parameters), RFC 6152 (8BITMIME),
//            RFC 6531 (SMTPUTF8).

#include <cstdint>
#include <string>
#include <vector>

#include "core/address.h"

namespace sluice {

enum class BodyType : std::uint8_t { kUnspecified = 0, k7Bit = 1, k8BitMime = 2 };
enum class DsnRet : std::uint8_t { kUnspecified = 0, kFull = 1, kHeaders = 2 };

// RFC 3461 §4.1 NOTIFY, as bit flags; 0 means the parameter was absent.
enum NotifyFlags : std::uint8_t {
  kNotifyNever = 1,
  kNotifySuccess = 2,
  kNotifyFailure = 4,
  kNotifyDelay = 8,
};

struct Recipient {
  Address address;
  std::uint8_t notify = 0;
  std::string orcpt;  // RFC 3461 §4.2 ORCPT, decoded "addr-type;address", "" if absent
};

struct Envelope {
  Address sender;  // null for "<>"
  std::vector<Recipient> recipients;
  BodyType body = BodyType::kUnspecified;
  bool smtputf8 = false;
  DsnRet ret = DsnRet::kUnspecified;
  std::string envid;  // RFC 3461 §4.4, decoded
  // RFC 8689: REQUIRETLS asked at MAIL (every hop verified TLS), or a
  // "TLS-Required: No" field (receivers' TLS policies may be ignored).
  bool requiretls = false;
  bool tls_optional = false;
};

}  // namespace sluice
