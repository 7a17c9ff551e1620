#include "message/downgrade.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "core/ascii.h"
#include "message/mime.h"

namespace sluice::message {
namespace {

using mime::kMaxDepth;
using mime::Split;
using mime::Value;
constexpr std::size_t kQpLine = 76;

// Text nobody reads (multipart preamble and epilogue): 8-bit octets become '?'.
void AppendSanitised(std::string& out, std::string_view s) {
  for (char c : s) {
    out.push_back(static_cast<unsigned char>(c) >= 0x80 ? '?' : c);
  }
}

struct Converter {
  std::string out;
  std::string error;

  bool Multipart(std::string_view body, const std::string& boundary, int depth) {
    return mime::WalkMultipart(
        body, boundary, [this](std::string_view text) { AppendSanitised(out, text); },
        [this](std::string_view text) { out += text; },
        [this, depth](std::string_view part) { return Convert(part, depth + 1); });
  }

  // One entity (header section and body) into `out`; false, with `error` set,
  // where it cannot be made 7-bit.
  bool Convert(std::string_view text, int depth, bool top = false) {
    if (depth > kMaxDepth) {
      error = "MIME structure nested too deeply to convert";
      return false;
    }
    const auto e = Split(text);
    if (!Has8Bit(e.body)) {
      if (Has8Bit(e.headers)) {
        error = "8-bit octets in a header section need SMTPUTF8";
        return false;
      }
      out += text;
      return true;
    }
    if (Has8Bit(e.headers)) {
      error = "8-bit octets in a header section need SMTPUTF8";
      return false;
    }
    const auto fields = mime::Fields(e.headers);
    const std::string content_type = Value(fields, "Content-Type");
    std::string type = mime::MediaType(content_type);
    const std::string cte = AsciiLower(Value(fields, "Content-Transfer-Encoding"));
    std::string extra;
    if (top && Value(fields, "MIME-Version").empty()) {
      extra += "MIME-Version: 1.0\r\n";
      if (type.empty()) {
        extra += "Content-Type: text/plain; charset=unknown-8bit\r\n";
      }
    }
    if (type.rfind("multipart/", 0) == 0) {
      std::string boundary = mime::Param(content_type, "boundary");
      if (!boundary.empty()) {
        out += mime::Rewrite(fields, {"Content-Transfer-Encoding"}, extra);
        out += "\r\n";
        return Multipart(e.body, boundary, depth);
      }
    }
    if (type == "message/global") {
      error = "message/global content needs SMTPUTF8";
      return false;
    }
    if (type == "message/rfc822") {
      out += mime::Rewrite(fields, {"Content-Transfer-Encoding"}, extra);
      out += "\r\n";
      return Convert(e.body, depth + 1);
    }
    if (!cte.empty() && cte != "7bit" && cte != "8bit" && cte != "binary") {
      error = "8-bit octets in a part encoded " + cte;
      return false;
    }
    out += mime::Rewrite(fields, {"Content-Transfer-Encoding"},
                         extra + "Content-Transfer-Encoding: quoted-printable\r\n");
    out += "\r\n";
    out += QuotedPrintable(e.body);
    return true;
  }
};

}  // namespace

bool Has8Bit(std::string_view data) {
  return std::any_of(data.begin(), data.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

std::string QuotedPrintable(std::string_view body) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(body.size() + body.size() / 8);
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto eol = body.find("\r\n", pos);
    std::size_t end = eol == std::string_view::npos ? body.size() : eol;
    std::string_view line = body.substr(pos, end - pos);
    std::size_t width = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      auto u = static_cast<unsigned char>(line[i]);
      bool last = i + 1 == line.size();
      // §6.7 rules 2 and 3: printable ASCII but '=' as itself; space and tab
      // as themselves except at the end of a line.
      bool literal = (u >= 33 && u <= 126 && u != '=') || ((u == ' ' || u == '\t') && !last);
      std::size_t need = literal ? 1 : 3;
      // Rule 5: a soft line break keeps encoded lines within 76 characters
      // (75 plus the '='), leaving room for what follows on the last one.
      if (width + need > kQpLine - 1 && !(last && width + need <= kQpLine)) {
        out += "=\r\n";
        width = 0;
      }
      if (literal) {
        out.push_back(static_cast<char>(u));
      } else {
        out.push_back('=');
        out.push_back(kHex[u >> 4]);
        out.push_back(kHex[u & 15]);
      }
      width += need;
    }
    if (eol == std::string_view::npos) {
      break;
    }
    out += "\r\n";
    pos = eol + 2;
  }
  return out;
}

Result<std::string, std::string> DowngradeTo7Bit(std::string_view message) {
  Converter c;
  c.out.reserve(message.size() + message.size() / 4);
  if (!c.Convert(message, 0, true)) {
    return Fail(std::move(c.error));
  }
  return std::move(c.out);
}

}  // namespace sluice::message
