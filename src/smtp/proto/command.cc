#include "smtp/proto/command.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace sluice::smtp {
namespace {

// No control characters (and, unless allowed, nothing outside US-ASCII).
bool Printable(std::string_view s, bool allow_8bit) {
  return std::all_of(s.begin(), s.end(), [allow_8bit](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return (c >= 0x20 && c != 0x7F && c < 0x80) || (allow_8bit && c >= 0x80);
  });
}

constexpr std::size_t kMaxEnvidLength = 100;  // RFC 3461 §4.4
constexpr std::size_t kMaxOrcptLength = 500;  // RFC 3461 §4.2

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lx = (x >= 'A' && x <= 'Z') ? static_cast<char>(x - 'A' + 'a') : x;
           auto ly = (y >= 'A' && y <= 'Z') ? static_cast<char>(y - 'A' + 'a') : y;
           return lx == ly;
         });
}

bool IStartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && IEquals(s.substr(0, prefix.size()), prefix);
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

Unexpected<CommandFailure> Failure(CommandError e, std::string detail) {
  return Fail(CommandFailure{e, std::move(detail)});
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<std::uint64_t> ParseUint(std::string_view s) {
  if (!AllDigits(s) || s.size() > 20) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
bool ValidKeyword(std::string_view k) {
  if (k.empty()) {
    return false;
  }
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(k.front())) {
    return false;
  }
  return std::all_of(k.begin(), k.end(), [&](char c) { return alnum(c) || c == '-'; });
}

// esmtp-value = 1*(%d33-60 / %d62-126), widened by RFC 6531 to UTF-8.
bool ValidValue(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return (c >= 33 && c <= 126 && c != '=') || c >= 0x80;
  });
}

struct Param {
  std::string_view keyword;
  std::string_view value;
  bool has_value = false;
};

// Splits "K1=V1 K2 K3=V3" into parameters; returns false on malformed text.
template <class Fn>
std::optional<CommandFailure> ForEachParam(std::string_view rest, Fn&& fn) {
  while (true) {
    rest = TrimSpaces(rest);
    if (rest.empty()) {
      return std::nullopt;
    }
    auto sp = rest.find(' ');
    std::string_view token = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp);
    Param p;
    auto eq = token.find('=');
    p.keyword = token.substr(0, eq);
    if (eq != std::string_view::npos) {
      p.value = token.substr(eq + 1);
      p.has_value = true;
      if (!ValidValue(p.value)) {
        return CommandFailure{CommandError::kBadParameter,
                              "Malformed value for " + std::string(p.keyword)};
      }
    }
    if (!ValidKeyword(p.keyword)) {
      return CommandFailure{CommandError::kSyntax, "Malformed parameter"};
    }
    if (auto f = fn(p)) {
      return f;
    }
  }
}

std::optional<CommandFailure> BadParam(std::string_view keyword, std::string_view why) {
  return CommandFailure{CommandError::kBadParameter,
                        std::string(keyword) + " parameter " + std::string(why)};
}

std::optional<CommandFailure> ApplyMailParam(const Param& p, MailParams& m, unsigned& seen) {
  auto once = [&](unsigned bit) {
    bool dup = (seen & bit) != 0;
    seen |= bit;
    return dup;
  };
  if (IEquals(p.keyword, "SIZE")) {
    if (once(1)) {
      return BadParam(p.keyword, "repeated");
    }
    auto v = ParseUint(p.value);
    if (!p.has_value || !v) {
      return BadParam(p.keyword, "must be a number of octets");
    }
    m.size = v;
  } else if (IEquals(p.keyword, "BODY")) {
    if (once(2)) {
      return BadParam(p.keyword, "repeated");
    }
    if (IEquals(p.value, "7BIT")) {
      m.body = BodyType::k7Bit;
    } else if (IEquals(p.value, "8BITMIME")) {
      m.body = BodyType::k8BitMime;
    } else {
      return CommandFailure{CommandError::kUnknownParameter,
                            "BODY=" + std::string(p.value) + " is not supported"};
    }
  } else if (IEquals(p.keyword, "SMTPUTF8")) {
    if (once(4) || p.has_value) {
      return BadParam(p.keyword, "takes no value");
    }
    m.smtputf8 = true;
  } else if (IEquals(p.keyword, "RET")) {
    if (once(8)) {
      return BadParam(p.keyword, "repeated");
    }
    if (IEquals(p.value, "FULL")) {
      m.ret = DsnRet::kFull;
    } else if (IEquals(p.value, "HDRS")) {
      m.ret = DsnRet::kHeaders;
    } else {
      return BadParam(p.keyword, "must be FULL or HDRS");
    }
  } else if (IEquals(p.keyword, "ENVID")) {
    if (once(16)) {
      return BadParam(p.keyword, "repeated");
    }
    auto v = DecodeXtext(p.value);
    // RFC 3461 §4.4: printable US-ASCII (it is copied into delivery reports).
    if (!p.has_value || !v || v->size() > kMaxEnvidLength || !Printable(*v, false)) {
      return BadParam(p.keyword, "must be xtext of at most 100 printable characters");
    }
    m.envid = std::move(*v);
  } else if (IEquals(p.keyword, "REQUIRETLS")) {
    if (once(64) || p.has_value) {
      return BadParam(p.keyword, "takes no value");
    }
    m.requiretls = true;
  } else if (IEquals(p.keyword, "AUTH")) {
    if (once(32)) {
      return BadParam(p.keyword, "repeated");
    }
    auto v = DecodeXtext(p.value);
    if (!p.has_value || !v) {
      return BadParam(p.keyword, "must be xtext");
    }
    m.auth = std::move(*v);
  } else {
    return CommandFailure{CommandError::kUnknownParameter,
                          "Unsupported parameter " + std::string(p.keyword)};
  }
  return std::nullopt;
}

std::optional<CommandFailure> ApplyRcptParam(const Param& p, RcptParams& r, unsigned& seen) {
  if (IEquals(p.keyword, "NOTIFY")) {
    if ((seen & 1) != 0 || !p.has_value) {
      return BadParam(p.keyword, "repeated or empty");
    }
    seen |= 1;
    std::string_view v = p.value;
    std::uint8_t flags = 0;
    while (!v.empty()) {
      auto comma = v.find(',');
      std::string_view item = v.substr(0, comma);
      v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
      if (IEquals(item, "NEVER")) {
        flags |= kNotifyNever;
      } else if (IEquals(item, "SUCCESS")) {
        flags |= kNotifySuccess;
      } else if (IEquals(item, "FAILURE")) {
        flags |= kNotifyFailure;
      } else if (IEquals(item, "DELAY")) {
        flags |= kNotifyDelay;
      } else {
        return BadParam(p.keyword, "has an unknown value");
      }
    }
    // RFC 3461 §4.1: NEVER excludes the others.
    if ((flags & kNotifyNever) != 0 && flags != kNotifyNever) {
      return BadParam(p.keyword, "NEVER cannot be combined");
    }
    r.notify = flags;
  } else if (IEquals(p.keyword, "ORCPT")) {
    if ((seen & 2) != 0 || !p.has_value) {
      return BadParam(p.keyword, "repeated or empty");
    }
    seen |= 2;
    auto semi = p.value.find(';');
    if (semi == std::string_view::npos || semi == 0 || !ValidKeyword(p.value.substr(0, semi))) {
      return BadParam(p.keyword, "must be addr-type;xtext");
    }
    auto addr = DecodeXtext(p.value.substr(semi + 1));
    // RFC 3461 §4.2: an address, which holds no control characters (it is
    // copied into headers of reports and passed on).
    if (!addr || addr->empty() || p.value.size() > kMaxOrcptLength || !Printable(*addr, true)) {
      return BadParam(p.keyword, "must be addr-type;xtext");
    }
    r.orcpt = std::string(p.value.substr(0, semi + 1)) + *addr;
  } else {
    return CommandFailure{CommandError::kUnknownParameter,
                          "Unsupported parameter " + std::string(p.keyword)};
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> DecodeXtext(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  for (std::size_t i = 0; i < in.size(); ++i) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c == '+') {
      if (i + 2 >= in.size()) {
        return std::nullopt;
      }
      int hi = hex(in[i + 1]);
      int lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) {
        return std::nullopt;
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if ((c >= 33 && c <= 126 && c != '=') || c >= 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::string EncodeXtext(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : in) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 33 && c <= 126 && c != '+' && c != '=') {
      out.push_back(ch);
    } else {
      out.push_back('+');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

Result<Command, CommandFailure> ParseCommand(std::string_view line) {
  if (line.find('\0') != std::string_view::npos) {
    return Failure(CommandError::kSyntax, "NUL in command");
  }
  line = TrimSpaces(line);
  auto sp = line.find(' ');
  std::string_view verb = line.substr(0, sp);
  std::string_view rest =
      sp == std::string_view::npos ? std::string_view() : TrimSpaces(line.substr(sp + 1));
  Command cmd;

  auto no_args = [&](Verb v, const char* usage) -> Result<Command, CommandFailure> {
    if (!rest.empty()) {
      return Failure(CommandError::kSyntax, std::string("Syntax: ") + usage);
    }
    cmd.verb = v;
    return cmd;
  };

  if (IEquals(verb, "EHLO") || IEquals(verb, "HELO")) {
    cmd.verb = IEquals(verb, "EHLO") ? Verb::kEhlo : Verb::kHelo;
    if (rest.empty()) {
      return Failure(
          CommandError::kSyntax,
          std::string("Syntax: ") + (cmd.verb == Verb::kEhlo ? "EHLO" : "HELO") + " hostname");
    }
    cmd.arg = std::string(rest.substr(0, rest.find(' ')));
    return cmd;
  }
  if (IEquals(verb, "MAIL") || IEquals(verb, "RCPT")) {
    bool mail = IEquals(verb, "MAIL");
    cmd.verb = mail ? Verb::kMail : Verb::kRcpt;
    std::string_view prefix = mail ? "FROM:" : "TO:";
    if (!IStartsWith(rest, prefix)) {
      return Failure(CommandError::kSyntax,
                     mail ? "Syntax: MAIL FROM:<address>" : "Syntax: RCPT TO:<address>");
    }
    rest.remove_prefix(prefix.size());
    rest = TrimSpaces(rest);
    PathOptions opts;
    opts.allow_null = mail;
    opts.allow_postmaster = !mail;
    auto path = ParsePath(rest, opts);
    if (!path) {
      if (path.error() == AddressError::kUtf8) {
        return Failure(CommandError::kBadUtf8, ToString(path.error()));
      }
      return Failure(mail ? CommandError::kBadSender : CommandError::kBadRecipient,
                     ToString(path.error()));
    }
    cmd.path = std::move(path->address);
    rest.remove_prefix(path->consumed);
    if (!rest.empty() && rest.front() != ' ') {
      return Failure(CommandError::kSyntax, "Garbage after address");
    }
    unsigned seen = 0;
    std::optional<CommandFailure> f;
    if (mail) {
      f = ForEachParam(rest, [&](const Param& p) { return ApplyMailParam(p, cmd.mail, seen); });
    } else {
      f = ForEachParam(rest, [&](const Param& p) { return ApplyRcptParam(p, cmd.rcpt, seen); });
    }
    if (f) {
      return Fail(std::move(*f));
    }
    return cmd;
  }
  if (IEquals(verb, "DATA")) {
    return no_args(Verb::kData, "DATA");
  }
  if (IEquals(verb, "RSET")) {
    return no_args(Verb::kRset, "RSET");
  }
  if (IEquals(verb, "QUIT")) {
    return no_args(Verb::kQuit, "QUIT");
  }
  if (IEquals(verb, "STARTTLS")) {
    return no_args(Verb::kStartTls, "STARTTLS");
  }
  if (IEquals(verb, "NOOP") || IEquals(verb, "HELP")) {
    cmd.verb = IEquals(verb, "NOOP") ? Verb::kNoop : Verb::kHelp;
    cmd.arg = std::string(rest);
    return cmd;
  }
  if (IEquals(verb, "VRFY") || IEquals(verb, "EXPN")) {
    cmd.verb = IEquals(verb, "VRFY") ? Verb::kVrfy : Verb::kExpn;
    if (rest.empty()) {
      return Failure(CommandError::kSyntax, std::string("Syntax: ") + std::string(verb) + " name");
    }
    cmd.arg = std::string(rest);
    return cmd;
  }
  if (IEquals(verb, "BDAT")) {
    cmd.verb = Verb::kBdat;
    auto sp2 = rest.find(' ');
    auto size = ParseUint(rest.substr(0, sp2));
    if (!size) {
      return Failure(CommandError::kSyntax, "Syntax: BDAT size [LAST]");
    }
    cmd.bdat_size = *size;
    if (sp2 != std::string_view::npos) {
      std::string_view tail = TrimSpaces(rest.substr(sp2));
      if (!IEquals(tail, "LAST")) {
        return Failure(CommandError::kSyntax, "Syntax: BDAT size [LAST]");
      }
      cmd.bdat_last = true;
    }
    return cmd;
  }
  if (IEquals(verb, "AUTH")) {
    cmd.verb = Verb::kAuth;
    if (rest.empty()) {
      return Failure(CommandError::kSyntax, "Syntax: AUTH mechanism [initial-response]");
    }
    cmd.arg = std::string(rest);
    return cmd;
  }
  return Failure(CommandError::kUnknownCommand, "Command unrecognized");
}

Reply ReplyFor(const CommandFailure& f) {
  switch (f.error) {
    case CommandError::kUnknownCommand:
      return {500, "5.5.1", f.detail};
    case CommandError::kSyntax:
      return {501, "5.5.2", f.detail};
    case CommandError::kBadSender:
      return {501, "5.1.7", "Bad sender address syntax: " + f.detail};
    case CommandError::kBadRecipient:
      return {501, "5.1.3", "Bad recipient address syntax: " + f.detail};
    case CommandError::kBadParameter:
      return {501, "5.5.4", f.detail};
    case CommandError::kUnknownParameter:
      return {555, "5.5.4", f.detail};
    case CommandError::kBadUtf8:
      // RFC 6531 §3.3 requires UTF-8; X.6.7 is its code for address trouble.
      return {553, "5.6.7", "Malformed UTF-8 in address: " + f.detail};
  }
  return {500, "5.5.2", "Syntax error"};
}

}  // namespace sluice::smtp
