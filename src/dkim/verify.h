#pragma once
// Security: verifies signatures on mail from anyone; the key lookup is the
//           caller's (DNS, untrusted); every failure is a verdict, never a crash.
// Standards: RFC 6376 §6 (verifier actions), §3.5 (tags), RFC 8301 (RSA key
//            size, no rsa-sha1), RFC 8463 (ed25519-sha256), RFC 8601 §2.7.1
//            (the result names: pass, fail, temperror, permerror).

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sluice::dkim {

enum class Status { kPass, kFail, kTempError, kPermError };
const char* ToString(Status s);

struct Verdict {
  Status status = Status::kPermError;
  std::string reason;  // why, for anything but a pass
  std::string domain;  // d=
  std::string selector;
};

enum class LookupError { kNotFound, kTemporary };
// The TXT record text at a name ("<selector>._domainkey.<domain>").
using KeyLookup = std::function<Result<std::string, LookupError>(const std::string& name)>;

// One verdict per DKIM-Signature field, top to bottom (none if unsigned).
std::vector<Verdict> Verify(std::string_view message, const KeyLookup& lookup,
                            std::chrono::system_clock::time_point now =
                                std::chrono::system_clock::now());

}  // namespace sluice::dkim
