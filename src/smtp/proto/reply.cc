#include "smtp/proto/reply.h"

#include <fmt/format.h>

namespace sluice::smtp {

void AppendFormatted(const Reply& r, std::string& out) {
  std::string_view text = r.text;
  while (true) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    bool last = nl == std::string_view::npos;
    out += fmt::format("{}{}", r.code, last ? ' ' : '-');
    if (!r.enhanced.empty()) {
      out += r.enhanced;
      if (!line.empty()) {
        out += ' ';
      }
    }
    out += line;
    out += "\r\n";
    if (last) {
      break;
    }
    text.remove_prefix(nl + 1);
  }
}

std::string Format(const Reply& r) {
  std::string out;
  AppendFormatted(r, out);
  return out;
}

}  // namespace sluice::smtp
