#include "message/downgrade.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace sluice::message {
namespace {

constexpr int kMaxDepth = 32;
constexpr std::size_t kQpLine = 76;

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// One MIME entity: its header section (each field ending in CRLF, without the
// blank line) and its body.
struct Entity {
  std::string_view headers;
  std::string_view body;
};

Entity Split(std::string_view text) {
  if (text.substr(0, 2) == "\r\n") {
    return {{}, text.substr(2)};
  }
  auto end = text.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return {text, {}};
  }
  return {text.substr(0, end + 2), text.substr(end + 4)};
}

// A header field: its name and its whole text (folded lines included).
struct Field {
  std::string_view name;
  std::string_view text;
};

std::vector<Field> Fields(std::string_view headers) {
  std::vector<Field> out;
  std::size_t pos = 0;
  while (pos < headers.size()) {
    std::size_t end = pos;
    do {
      auto eol = headers.find("\r\n", end);
      end = eol == std::string_view::npos ? headers.size() : eol + 2;
    } while (end < headers.size() && (headers[end] == ' ' || headers[end] == '\t'));
    std::string_view text = headers.substr(pos, end - pos);
    auto colon = text.find(':');
    out.push_back({colon == std::string_view::npos ? std::string_view{} : Trim(text.substr(0, colon)),
                   text});
    pos = end;
  }
  return out;
}

// The unfolded value of the first field named `name`, or "".
std::string Value(const std::vector<Field>& fields, std::string_view name) {
  for (const auto& f : fields) {
    if (IEquals(f.name, name)) {
      std::string v;
      for (char c : f.text.substr(f.text.find(':') + 1)) {
        if (c != '\r' && c != '\n') {
          v.push_back(c);
        }
      }
      return std::string(Trim(v));
    }
  }
  return {};
}

// "type/subtype" (lower case) of a Content-Type value; "" if absent.
std::string MediaType(std::string_view value) {
  return Lower(Trim(value.substr(0, value.find(';'))));
}

// A parameter of a Content-Type value (RFC 2045 §5.1), quoted or not.
std::string Param(std::string_view value, std::string_view name) {
  std::size_t pos = value.find(';');
  while (pos != std::string_view::npos && pos < value.size()) {
    std::size_t start = pos + 1;
    auto eq = value.find('=', start);
    if (eq == std::string_view::npos) {
      break;
    }
    std::string_view key = Trim(value.substr(start, eq - start));
    std::size_t i = eq + 1;
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) {
      ++i;
    }
    std::string v;
    if (i < value.size() && value[i] == '"') {
      for (++i; i < value.size() && value[i] != '"'; ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) {
          ++i;
        }
        v.push_back(value[i]);
      }
      pos = value.find(';', i);
    } else {
      auto semi = value.find(';', i);
      v = std::string(Trim(value.substr(i, semi == std::string_view::npos ? semi : semi - i)));
      pos = semi;
    }
    if (IEquals(key, name)) {
      return v;
    }
  }
  return {};
}

// The header section without Content-Transfer-Encoding, plus `extra` fields.
std::string Rewrite(const std::vector<Field>& fields, std::string_view extra) {
  std::string out;
  for (const auto& f : fields) {
    if (!IEquals(f.name, "Content-Transfer-Encoding")) {
      out += f.text;
      if (f.text.size() < 2 || f.text.substr(f.text.size() - 2) != "\r\n") {
        out += "\r\n";
      }
    }
  }
  out += extra;
  return out;
}

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
    // RFC 2046 §5.1.1: delimiter lines start with "--boundary"; the CRLF before
    // one belongs to it, so a part ends two octets before the next delimiter.
    struct Delimiter {
      std::size_t begin, end;  // the line, without its CRLF
      bool close;
    };
    const std::string dash = "--" + boundary;
    std::vector<Delimiter> ds;
    for (std::size_t pos = 0; pos < body.size();) {
      auto eol = body.find("\r\n", pos);
      std::size_t end = eol == std::string_view::npos ? body.size() : eol;
      std::string_view line = body.substr(pos, end - pos);
      if (line.substr(0, dash.size()) == dash) {
        bool close = line.substr(dash.size(), 2) == "--";
        ds.push_back({pos, end, close});
        if (close) {
          break;
        }
      }
      pos = end + 2;
    }
    if (ds.empty()) {
      AppendSanitised(out, body);
      return true;
    }
    AppendSanitised(out, body.substr(0, ds[0].begin));
    for (std::size_t i = 0; i < ds.size(); ++i) {
      const auto& d = ds[i];
      if (d.close) {
        AppendSanitised(out, body.substr(d.begin));
        return true;
      }
      out += body.substr(d.begin, d.end - d.begin);
      if (d.end >= body.size()) {
        return true;
      }
      out += "\r\n";
      std::size_t start = d.end + 2;
      if (i + 1 == ds.size()) {
        return Convert(body.substr(start), depth + 1);  // no close delimiter
      }
      std::size_t next = ds[i + 1].begin;
      if (next >= start + 2) {
        if (!Convert(body.substr(start, next - 2 - start), depth + 1)) {
          return false;
        }
        out += "\r\n";
      }
    }
    return true;
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
    const auto fields = Fields(e.headers);
    const std::string content_type = Value(fields, "Content-Type");
    std::string type = MediaType(content_type);
    const std::string cte = Lower(Value(fields, "Content-Transfer-Encoding"));
    std::string extra;
    if (top && Value(fields, "MIME-Version").empty()) {
      extra += "MIME-Version: 1.0\r\n";
      if (type.empty()) {
        extra += "Content-Type: text/plain; charset=unknown-8bit\r\n";
      }
    }
    if (type.rfind("multipart/", 0) == 0) {
      std::string boundary = Param(content_type, "boundary");
      if (!boundary.empty()) {
        out += Rewrite(fields, extra);
        out += "\r\n";
        return Multipart(e.body, boundary, depth);
      }
    }
    if (type == "message/global") {
      error = "message/global content needs SMTPUTF8";
      return false;
    }
    if (type == "message/rfc822") {
      out += Rewrite(fields, extra);
      out += "\r\n";
      return Convert(e.body, depth + 1);
    }
    if (!cte.empty() && cte != "7bit" && cte != "8bit" && cte != "binary") {
      error = "8-bit octets in a part encoded " + cte;
      return false;
    }
    out += Rewrite(fields, extra + "Content-Transfer-Encoding: quoted-printable\r\n");
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
