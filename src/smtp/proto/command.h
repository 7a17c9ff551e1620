#pragma once
// Security: parses every command line an untrusted SMTP client sends.
// Standards: RFC 5321 §4.1 (commands), RFC 1870 (SIZE), RFC 6152 (8BITMIME),
//            RFC 6531 (SMTPUTF8), RFC 3461 (DSN: RET, ENVID, NOTIFY, ORCPT),
//            RFC 3030 (BDAT), RFC 3207 (STARTTLS), RFC 4954 (AUTH).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/address.h"
#include "core/envelope.h"
#include "core/result.h"
#include "smtp/proto/reply.h"

namespace sluice::smtp {

enum class Verb {
  kHelo,
  kEhlo,
  kMail,
  kRcpt,
  kData,
  kBdat,
  kRset,
  kNoop,
  kQuit,
  kHelp,
  kVrfy,
  kExpn,
  kStartTls,
  kAuth,
};

struct MailParams {
  std::optional<std::uint64_t> size;  // RFC 1870
  BodyType body = BodyType::kUnspecified;
  bool smtputf8 = false;
  DsnRet ret = DsnRet::kUnspecified;
  std::string envid;        // xtext-decoded
  std::string auth;         // RFC 4954 §5 AUTH= (recorded, not trusted)
  bool requiretls = false;  // RFC 8689 §3
};

struct RcptParams {
  std::uint8_t notify = 0;  // NotifyFlags
  std::string orcpt;        // "addr-type;" + xtext-decoded address
};

struct Command {
  Verb verb = Verb::kNoop;
  std::string arg;  // HELO/EHLO domain, AUTH mechanism + initial response, VRFY/HELP text
  Address path;     // MAIL FROM / RCPT TO
  MailParams mail;
  RcptParams rcpt;
  std::uint64_t bdat_size = 0;
  bool bdat_last = false;
};

enum class CommandError {
  kUnknownCommand,    // 500 5.5.1
  kSyntax,            // 501 5.5.2
  kBadSender,         // 501 5.1.7
  kBadRecipient,      // 501 5.1.3
  kBadParameter,      // 501 5.5.4
  kUnknownParameter,  // 555 5.5.4
  kBadUtf8,           // 553 5.6.7: an address that is not well-formed UTF-8
};

struct CommandFailure {
  CommandError error;
  std::string detail;
};

// Parses one command line (without its CRLF). Pure: no I/O, no session state.
Result<Command, CommandFailure> ParseCommand(std::string_view line);

// The reply a parse failure earns.
Reply ReplyFor(const CommandFailure& f);

// RFC 3461 §4 xtext: "+" HEXCHAR HEXCHAR or printable ASCII except "+" and "=".
std::optional<std::string> DecodeXtext(std::string_view in);
std::string EncodeXtext(std::string_view in);

}  // namespace sluice::smtp
