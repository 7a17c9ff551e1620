#pragma once
// Security: parses envelope addresses straight from untrusted SMTP clients.
// Standards: RFC 5321 §4.1.2 (Path, Mailbox), §4.5.3.1 (length limits),
//            RFC 6531 §3.3 (UTF-8 mailboxes), RFC 5890/5891 (IDNA A-labels).

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sluice {

enum class AddressError {
  kSyntax,     // not a Path / Mailbox at all
  kLocalPart,  // malformed local part
  kDomain,     // malformed domain or address literal
  kTooLong,    // RFC 5321 §4.5.3.1 size limits
  kIdna,       // a U-label that IDNA2008 rejects
  kUtf8,       // octets that are not well-formed UTF-8 (RFC 3629; RFC 6531 §3.3)
};

const char* ToString(AddressError e);

struct Address {
  std::string local;         // as sent; quoted local parts keep their quotes
  std::string domain;        // as sent (may be UTF-8 U-labels or "[literal]")
  std::string ascii_domain;  // lower-case A-label form, for routing and comparison
  bool utf8 = false;         // any non-ASCII octet in local part or domain

  bool IsNull() const { return local.empty() && domain.empty(); }
  // RFC 5321 §4.1.1.3: "<Postmaster>" without a domain.
  bool IsBarePostmaster() const { return domain.empty() && !local.empty(); }
  // local@domain, or "" for the null path.
  std::string ToString() const;
};

struct ParsedPath {
  Address address;
  std::size_t consumed = 0;  // octets of the input used, including the brackets
};

struct PathOptions {
  bool allow_null = false;        // MAIL FROM:<>
  bool allow_postmaster = false;  // RCPT TO:<Postmaster>
  bool allow_unbracketed = true;  // "MAIL FROM:user@example.com", as many servers accept
};

// Parses a Path at the start of `in` (the text after "FROM:" / "TO:").
// A source route ("<@a,@b:user@c>") is accepted and dropped (RFC 5321 §4.1.2, C.).
Result<ParsedPath, AddressError> ParsePath(std::string_view in, const PathOptions& opts);

// Parses a bare Mailbox (local@domain) that must fill all of `in`.
Result<Address, AddressError> ParseMailbox(std::string_view in);

// Validates a domain name or address literal; fills ascii_domain. Used for EHLO arguments too.
Result<std::string, AddressError> NormalizeDomain(std::string_view domain);

}  // namespace sluice
