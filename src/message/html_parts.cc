#include "message/html_parts.h"

#include <cctype>

#include "core/ascii.h"
#include "core/base64.h"
#include "message/downgrade.h"
#include "message/mime.h"

namespace sluice::message {
namespace {

constexpr std::size_t kMaxLine = 998;

int Hex(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = static_cast<char>(c | 0x20);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool LongLines(std::string_view text) {
  std::size_t start = 0;
  while (start < text.size()) {
    auto eol = text.find("\r\n", start);
    const std::size_t end = eol == std::string_view::npos ? text.size() : eol;
    if (end - start > kMaxLine) {
      return true;
    }
    start = end + 2;
  }
  return false;
}

std::string Base64Lines(std::string_view data) {
  const std::string b64 = Base64Encode(data);
  std::string out;
  out.reserve(b64.size() + b64.size() / 38 + 2);
  for (std::size_t i = 0; i < b64.size(); i += 76) {
    out += b64.substr(i, 76);
    out += "\r\n";
  }
  return out;
}

// Whether ASCII markup can be read and written in text of `charset` as it
// is: not in UTF-16/32, UCS-2/4, UTF-7 or the ISO-2022 and HZ encodings
// (where '<' or '"' octets occur inside other characters).
bool AsciiCompatible(std::string_view charset) {
  const std::string c = AsciiLower(mime::Trim(charset));
  for (std::string_view prefix :
       {"utf-16", "utf-32", "ucs-2", "ucs-4", "utf-7", "iso-2022", "hz"}) {
    if (c.rfind(prefix, 0) == 0) {
      return false;
    }
  }
  return true;
}

struct Walker {
  const HtmlChange& change;
  bool changed = false;
  std::string out;

  void Walk(std::string_view text, int depth) {
    if (depth > mime::kMaxDepth) {
      out += text;
      return;
    }
    const auto e = mime::Split(text);
    const auto fields = mime::Fields(e.headers);
    const std::string content_type = mime::Value(fields, "Content-Type");
    const std::string type = mime::MediaType(content_type);
    if (type == "multipart/signed" || type == "multipart/encrypted") {
      out += text;  // RFC 1847: any change breaks the signature
      return;
    }
    if (type.rfind("multipart/", 0) == 0) {
      const std::string boundary = mime::Param(content_type, "boundary");
      if (!boundary.empty()) {
        out += e.headers;
        out += "\r\n";
        const auto append = [this](std::string_view t) { out += t; };
        mime::WalkMultipart(e.body, boundary, append, append, [this, depth](std::string_view part) {
          Walk(part, depth + 1);
          return true;
        });
        return;
      }
    }
    const std::string disposition = mime::MediaType(mime::Value(fields, "Content-Disposition"));
    if (type != "text/html" || disposition == "attachment" ||
        !AsciiCompatible(mime::Param(content_type, "charset"))) {
      out += text;
      return;
    }
    const std::string cte = AsciiLower(mime::Value(fields, "Content-Transfer-Encoding"));
    std::string html;
    if (cte == "base64") {
      std::string compact;
      for (char c : e.body) {
        if (!std::isspace(static_cast<unsigned char>(c))) {
          compact += c;
        }
      }
      auto decoded = Base64Decode(compact);
      if (!decoded) {
        out += text;  // not ours to repair
        return;
      }
      html = std::move(*decoded);
    } else if (cte == "quoted-printable") {
      html = QuotedPrintableDecode(e.body);
    } else if (cte.empty() || cte == "7bit" || cte == "8bit" || cte == "binary") {
      html = std::string(e.body);
    } else {
      out += text;  // an encoding we do not know
      return;
    }
    const std::string result = change(html);
    changed = true;
    if (cte == "base64") {
      out += e.headers;
      out += "\r\n";
      out += Base64Lines(result);
    } else if (cte == "quoted-printable" || LongLines(result)) {
      out += mime::Rewrite(fields, {"Content-Transfer-Encoding"},
                           "Content-Transfer-Encoding: quoted-printable\r\n");
      out += "\r\n";
      out += QuotedPrintable(result);
    } else {
      out += e.headers;
      out += "\r\n";
      out += result;
    }
  }
};

}  // namespace

std::string QuotedPrintableDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '=') {
      out += c;
      continue;
    }
    // A soft line break: '=' and the line end, with any whitespace between
    // (RFC 2045 §6.7 rule 3: trailing whitespace is not part of the text).
    std::size_t j = i + 1;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) {
      ++j;
    }
    if (text.substr(j, 2) == "\r\n") {
      i = j + 1;
      continue;
    }
    if (i + 2 < text.size() && Hex(text[i + 1]) >= 0 && Hex(text[i + 2]) >= 0) {
      out += static_cast<char>(Hex(text[i + 1]) * 16 + Hex(text[i + 2]));
      i += 2;
      continue;
    }
    out += c;
  }
  return out;
}

std::string RewriteHtmlParts(std::string_view message, const HtmlChange& change, bool* changed) {
  Walker w{change, false, {}};
  w.out.reserve(message.size() + message.size() / 4);
  w.Walk(message, 0);
  if (changed != nullptr) {
    *changed = w.changed;
  }
  return std::move(w.out);
}

}  // namespace sluice::message
