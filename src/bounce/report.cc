#include "bounce/report.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

#include "core/ascii.h"
#include "core/base64.h"

namespace sluice::bounce {
namespace {

constexpr int kMaxDepth = 8;

using Fields = std::vector<std::pair<std::string, std::string>>;  // lower-case name, value

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

// The header and the body of an entity: split at the first empty line.
std::pair<std::string_view, std::string_view> SplitEntity(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) {
      return {text, {}};
    }
    std::string_view line = text.substr(pos, eol - pos);
    if (line.empty() || line == "\r") {
      return {text.substr(0, pos), text.substr(eol + 1)};
    }
    pos = eol + 1;
  }
  return {text, {}};
}

// Header fields, unfolded (RFC 5322 §2.2.3).
Fields ParseFields(std::string_view header) {
  Fields out;
  std::size_t pos = 0;
  while (pos < header.size()) {
    auto eol = header.find('\n', pos);
    std::string_view line =
        header.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? header.size() : eol + 1;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty()) {
      continue;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !out.empty()) {
      out.back().second += ' ';
      out.back().second += Trim(line);
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      continue;
    }
    out.emplace_back(AsciiLower(Trim(line.substr(0, colon))),
                     std::string(Trim(line.substr(colon + 1))));
  }
  return out;
}

std::string Field(const Fields& f, std::string_view name) {
  for (const auto& [k, v] : f) {
    if (k == name) {
      return v;
    }
  }
  return {};
}

struct ContentType {
  std::string type = "text/plain";  // lower case
  std::string boundary;
  std::string report_type;
};

ContentType ParseContentType(std::string_view value) {
  ContentType ct;
  auto semi = value.find(';');
  std::string type = AsciiLower(Trim(value.substr(0, semi)));
  if (!type.empty()) {
    ct.type = std::move(type);
  }
  while (semi != std::string_view::npos) {
    value.remove_prefix(semi + 1);
    auto eq = value.find('=');
    if (eq == std::string_view::npos) {
      break;
    }
    std::string name = AsciiLower(Trim(value.substr(0, eq)));
    value.remove_prefix(eq + 1);
    value = Trim(value);
    std::string param;
    if (!value.empty() && value.front() == '"') {
      auto close = value.find('"', 1);
      param = std::string(value.substr(1, close == std::string_view::npos ? close : close - 1));
      value.remove_prefix(close == std::string_view::npos ? value.size() : close + 1);
      semi = value.find(';');
    } else {
      semi = value.find(';');
      param = std::string(Trim(value.substr(0, semi)));
    }
    if (name == "boundary") {
      ct.boundary = std::move(param);
    } else if (name == "report-type") {
      ct.report_type = AsciiLower(param);
    }
  }
  return ct;
}

std::string DecodeQuotedPrintable(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  };
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '=') {
      out += in[i];
      continue;
    }
    if (i + 1 < in.size() && (in[i + 1] == '\n' || in[i + 1] == '\r')) {
      i += (in[i + 1] == '\r' && i + 2 < in.size() && in[i + 2] == '\n') ? 2 : 1;
      continue;  // a soft line break
    }
    if (i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
      i += 2;
      continue;
    }
    out += '=';
  }
  return out;
}

std::string Decoded(const Fields& f, std::string_view body) {
  const std::string cte = AsciiLower(Field(f, "content-transfer-encoding"));
  if (cte == "base64") {
    std::string compact;
    for (char c : body) {
      if (!std::isspace(static_cast<unsigned char>(c))) {
        compact += c;
      }
    }
    if (auto d = Base64Decode(compact)) {
      return std::move(d).value();
    }
  } else if (cte == "quoted-printable") {
    return DecodeQuotedPrintable(body);
  }
  return std::string(body);
}

// The parts of a multipart body (RFC 2046 §5.1.1), without the preamble and
// the epilogue.
std::vector<std::string_view> SplitParts(std::string_view body, std::string_view boundary) {
  std::vector<std::string_view> parts;
  const std::string delimiter = "--" + std::string(boundary);
  std::optional<std::size_t> start;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    auto eol = body.find('\n', pos);
    std::string_view line =
        body.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    const std::size_t next = eol == std::string_view::npos ? body.size() + 1 : eol + 1;
    std::string_view bare = line;
    while (!bare.empty() && (bare.back() == '\r' || bare.back() == ' ' || bare.back() == '\t')) {
      bare.remove_suffix(1);
    }
    if (bare.substr(0, delimiter.size()) == delimiter) {
      const bool last = bare.substr(delimiter.size()) == "--";
      if (bare.size() == delimiter.size() || last) {
        if (start) {
          std::size_t end = pos > 0 ? pos - 1 : 0;  // the CRLF before a delimiter is its own
          if (end > *start && body[end - 1] == '\r') {
            --end;
          }
          parts.push_back(body.substr(*start, end > *start ? end - *start : 0));
        }
        if (last) {
          return parts;
        }
        start = std::min(next, body.size());
      }
    }
    pos = next;
  }
  if (start && *start < body.size()) {
    parts.push_back(body.substr(*start));  // no closing delimiter: take the rest
  }
  return parts;
}

// The first RFC 3463 code in free text ("550 5.1.1 User unknown" -> 5.1.1).
std::string EnhancedIn(std::string_view text) {
  for (std::size_t i = 0; i + 5 <= text.size(); ++i) {
    const char c = text[i];
    if ((c != '2' && c != '4' && c != '5') || text[i + 1] != '.' ||
        (i > 0 && (std::isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '.'))) {
      continue;
    }
    std::size_t j = i + 2;
    auto digits = [&](std::size_t& k) {
      std::size_t start = k;
      while (k < text.size() && k - start < 3 &&
             std::isdigit(static_cast<unsigned char>(text[k]))) {
        ++k;
      }
      return k > start;
    };
    if (!digits(j) || j >= text.size() || text[j] != '.') {
      continue;
    }
    ++j;
    if (!digits(j) || (j < text.size() &&
                       (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '.'))) {
      continue;
    }
    return std::string(text.substr(i, j - i));
  }
  return {};
}

std::string Address(std::string_view value) {
  // "rfc822; user@example.com" (RFC 3464 §2.3.2); the type may be missing.
  auto semi = value.find(';');
  if (semi != std::string_view::npos) {
    value.remove_prefix(semi + 1);
  }
  value = Trim(value);
  if (!value.empty() && value.front() == '<') {
    value.remove_prefix(1);
    auto close = value.find('>');
    value = value.substr(0, close);
  }
  return std::string(Trim(value));
}

void ReadDeliveryStatus(std::string_view body, ParsedReport& out) {
  // Groups of fields separated by empty lines: the message's, then one per recipient.
  std::vector<std::string_view> groups;
  std::size_t pos = 0;
  std::size_t group_start = 0;
  bool in_group = false;
  while (pos <= body.size()) {
    auto eol = body.find('\n', pos);
    std::string_view line =
        body.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    const bool blank = Trim(line).empty();
    if (!blank && !in_group) {
      group_start = pos;
      in_group = true;
    } else if (blank && in_group) {
      groups.push_back(body.substr(group_start, pos - group_start));
      in_group = false;
    }
    if (eol == std::string_view::npos) {
      break;
    }
    pos = eol + 1;
  }
  if (in_group) {
    groups.push_back(body.substr(group_start));
  }
  for (const auto& g : groups) {
    Fields f = ParseFields(g);
    if (auto mta = Field(f, "reporting-mta"); !mta.empty() && out.reporting_mta.empty()) {
      out.reporting_mta = Address(mta);
    }
    if (auto env = Field(f, "original-envelope-id"); !env.empty() && out.envelope_id.empty()) {
      out.envelope_id = env;
    }
    const std::string final_rcpt = Field(f, "final-recipient");
    const std::string original = Field(f, "original-recipient");
    if (final_rcpt.empty() && original.empty()) {
      continue;
    }
    ReportedStatus s;
    s.final_recipient = Address(final_rcpt.empty() ? original : final_rcpt);
    s.original_recipient = original.empty() ? std::string() : Address(original);
    s.action = AsciiLower(Trim(Field(f, "action")));
    std::string status(Trim(Field(f, "status")));
    s.status = status.substr(0, status.find_first_of(" \t("));
    s.diagnostic = Field(f, "diagnostic-code");
    if (s.status.empty()) {
      s.status = EnhancedIn(s.diagnostic);  // no Status field: the reply's own code
    }
    s.remote_mta = Address(Field(f, "remote-mta"));
    out.recipients.push_back(std::move(s));
  }
}

void ReadOriginalHeaders(std::string_view text, ParsedReport& out) {
  Fields f = ParseFields(SplitEntity(text).first);
  if (out.original_message_id.empty()) {
    out.original_message_id = Field(f, "message-id");
  }
  if (out.original_from.empty()) {
    out.original_from = Field(f, "from");
  }
  if (out.original_to.empty()) {
    out.original_to = Field(f, "to");
  }
}

void Walk(std::string_view entity, int depth, ParsedReport& out) {
  if (depth > kMaxDepth) {
    return;
  }
  auto [header, body] = SplitEntity(entity);
  const Fields fields = ParseFields(header);
  const ContentType ct = ParseContentType(Field(fields, "content-type"));
  if (ct.type.rfind("multipart/", 0) == 0 && !ct.boundary.empty()) {
    for (auto part : SplitParts(body, ct.boundary)) {
      Walk(part, depth + 1, out);
    }
    return;
  }
  if (ct.type == "message/delivery-status" || ct.type == "message/global-delivery-status") {
    const std::string text = Decoded(fields, body);
    ReadDeliveryStatus(text, out);
    if (!out.recipients.empty() && out.kind == ReportKind::kUnknown) {
      out.kind = ReportKind::kDsn;
    }
  } else if (ct.type == "message/feedback-report") {
    const Fields f = ParseFields(Decoded(fields, body));
    out.kind = ReportKind::kFeedback;
    out.feedback_type = AsciiLower(Field(f, "feedback-type"));
    out.user_agent = Field(f, "user-agent");
    out.original_rcpt_to = Address(Field(f, "original-rcpt-to"));
    out.original_mail_from = Address(Field(f, "original-mail-from"));
  } else if (ct.type == "message/rfc822" || ct.type == "message/global" ||
             ct.type == "text/rfc822-headers" || ct.type == "message/rfc822-headers" ||
             ct.type == "message/global-headers") {
    ReadOriginalHeaders(Decoded(fields, body), out);
  }
}

bool LooksAutoReplied(const Fields& top) {
  // RFC 3834 §5: Auto-Submitted other than "no"; and the common markers of
  // vacation programs that predate it.
  const std::string auto_submitted = AsciiLower(Field(top, "auto-submitted"));
  if (!auto_submitted.empty() && auto_submitted.rfind("no", 0) != 0) {
    return true;
  }
  if (!Field(top, "x-autoreply").empty() || !Field(top, "x-autorespond").empty()) {
    return true;
  }
  const std::string precedence = AsciiLower(Field(top, "precedence"));
  if (precedence == "auto_reply") {
    return true;
  }
  const std::string subject = AsciiLower(Field(top, "subject"));
  for (std::string_view marker : {"out of office", "out of the office", "auto-reply", "autoreply",
                                  "automatic reply", "vacation"}) {
    if (subject.find(marker) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// Whether the message presents itself as a failure notice.
bool LooksLikeBounce(const Fields& top) {
  const std::string from = AsciiLower(Field(top, "from"));
  const std::string subject = AsciiLower(Field(top, "subject"));
  for (std::string_view who : {"mailer-daemon", "postmaster", "mail delivery", "mail administrator",
                               "mailmaster", "system administrator"}) {
    if (from.find(who) != std::string::npos) {
      return true;
    }
  }
  for (std::string_view what :
       {"undeliver", "delivery fail", "failure notice", "returned mail", "delivery status",
        "not delivered", "could not be delivered", "delivery problem", "mail delivery failed",
        "nondeliverable", "rejected", "undelivered"}) {
    if (subject.find(what) != std::string::npos) {
      return true;
    }
  }
  return false;
}

bool AddressChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
         c == '+' || c == '=' || c == '\'' || c == '%' || c == '/' || c == '!' || c == '#' ||
         c == '$' || c == '&' || c == '*' || c == '?' || c == '^' || c == '`' || c == '{' ||
         c == '|' || c == '}' || c == '~';
}

// The addresses in a line, in order: "user@domain" with a dot in the domain.
std::vector<std::string> AddressesIn(std::string_view line) {
  std::vector<std::string> out;
  for (std::size_t at = line.find('@'); at != std::string_view::npos; at = line.find('@', at + 1)) {
    std::size_t b = at;
    while (b > 0 && AddressChar(line[b - 1])) {
      --b;
    }
    while (b < at && (line[b] == '\'' || line[b] == '`')) {
      ++b;  // quoting around the address, not part of it
    }
    std::size_t e = at + 1;
    while (e < line.size() && (std::isalnum(static_cast<unsigned char>(line[e])) ||
                               line[e] == '.' || line[e] == '-')) {
      ++e;
    }
    while (e > at + 1 && line[e - 1] == '.') {
      --e;
    }
    std::string_view local = line.substr(b, at - b);
    std::string_view domain = line.substr(at + 1, e - at - 1);
    if (!local.empty() && domain.find('.') != std::string_view::npos) {
      out.emplace_back(line.substr(b, e - b));
    }
  }
  return out;
}

// A failure notice in words (qmail, Exim, Postfix without DSN, Exchange,
// webmail providers): the failed addresses are those its text names before
// the returned message that are not the notice's own parties.
void ReadFreeText(std::string_view body, const Fields& top, ParsedReport& out) {
  if (!LooksLikeBounce(top)) {
    return;
  }
  std::vector<std::string> own;
  for (const char* name : {"from", "to", "reply-to", "return-path", "sender"}) {
    for (auto& a : AddressesIn(Field(top, name))) {
      own.push_back(AsciiLower(a));
    }
  }
  // Where the returned message begins: the notice's text ends there.
  std::size_t pos = 0;
  std::string diagnostic;
  while (pos < body.size() && out.recipients.size() < 100) {
    auto eol = body.find('\n', pos);
    std::string_view line =
        body.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? body.size() : eol + 1;
    const std::string lower = AsciiLower(line);
    if (lower.rfind("received: ", 0) == 0 || lower.rfind("return-path:", 0) == 0 ||
        lower.find("original message") != std::string::npos ||
        lower.find("copy of the message") != std::string::npos ||
        lower.find("message headers follow") != std::string::npos ||
        lower.rfind("content-type: message/rfc822", 0) == 0) {
      break;
    }
    for (auto& a : AddressesIn(line)) {
      std::string la = AsciiLower(a);
      if (std::find(own.begin(), own.end(), la) != own.end() ||
          la.rfind("mailer-daemon@", 0) == 0 || la.rfind("postmaster@", 0) == 0) {
        continue;
      }
      bool seen = false;
      for (const auto& r : out.recipients) {
        seen = seen || AsciiLower(r.final_recipient) == la;
      }
      if (!seen) {
        ReportedStatus st;
        st.final_recipient = a;
        st.action = "failed";
        out.recipients.push_back(std::move(st));
      }
    }
    if (diagnostic.empty() && !EnhancedIn(line).empty()) {
      diagnostic = std::string(Trim(line));  // the first line with a reply's code
    }
  }
  if (out.recipients.empty()) {
    return;
  }
  const std::string status = EnhancedIn(diagnostic);
  for (auto& r : out.recipients) {
    r.status = status.empty() ? "5.0.0" : status;
    r.diagnostic = diagnostic;
  }
  out.kind = ReportKind::kDsn;
  out.from_text = true;
}

}  // namespace

const char* ToString(ReportKind k) {
  switch (k) {
    case ReportKind::kUnknown:
      return "unknown";
    case ReportKind::kDsn:
      return "dsn";
    case ReportKind::kFeedback:
      return "feedback";
    case ReportKind::kAutoReply:
      return "auto-reply";
  }
  return "unknown";
}

ParsedReport ParseReport(std::string_view message) {
  ParsedReport out;
  const auto entity = SplitEntity(message);
  const Fields top = ParseFields(entity.first);
  Walk(message, 0, out);
  if (out.kind == ReportKind::kUnknown) {
    // A report whose MIME structure was lost on the way (flattened, or never
    // there) still has its delivery-status fields, a group a recipient.
    ReadDeliveryStatus(entity.second, out);
    if (!out.recipients.empty()) {
      out.kind = ReportKind::kDsn;
    }
  }
  if (out.kind == ReportKind::kUnknown) {
    ReadFreeText(entity.second, top, out);
  }
  // A failure notice says Auto-Submitted too (RFC 3834 §5.1): an auto-reply
  // is what is marked so and does not present itself as a notice.
  if (out.kind == ReportKind::kUnknown && LooksAutoReplied(top) && !LooksLikeBounce(top)) {
    out.kind = ReportKind::kAutoReply;
  }
  return out;
}

}  // namespace sluice::bounce
