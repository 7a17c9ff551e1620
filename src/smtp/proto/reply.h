#pragma once
// SMTP replies with enhanced status codes.
// Standards: RFC 5321 §4.2 (reply lines, multi-line form), RFC 2034 and
//            RFC 3463 (enhanced status codes).

#include <string>
#include <string_view>

namespace sluice::smtp {

struct Reply {
  int code = 250;
  std::string enhanced;  // "2.0.0"; empty for 220/221-style greetings without one
  std::string text;      // lines separated by '\n'

  bool IsPositive() const { return code >= 200 && code < 400; }
  bool IsTransient() const { return code >= 400 && code < 500; }
  bool IsPermanent() const { return code >= 500; }
};

// Renders a reply as wire text: every line but the last uses "code-", each
// carries the enhanced code when one is set, and every line ends in CRLF.
std::string Format(const Reply& r);
// Appends the rendered reply to `out`.
void AppendFormatted(const Reply& r, std::string& out);

}  // namespace sluice::smtp
