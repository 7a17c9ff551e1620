#include "message/compose.h"

#include <algorithm>

#include "core/base64.h"
#include "core/utf8.h"
#include "message/downgrade.h"

namespace sluice::message {

namespace {

constexpr std::size_t kFold = 78;
constexpr std::size_t kWordBytes =
    45;  // base64 of 45 octets: 60 characters; with "=?utf-8?B?" and "?=", 72

bool IsAscii(std::string_view s) {
  return !Has8Bit(s);
}

}  // namespace

std::string ToCrlfLines(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32 + 2);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      }
    } else if (text[i] == '\n') {
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) {
    out += "\r\n";
  }
  return out;
}

namespace {

// 7bit if ASCII with lines of at most 998 octets (RFC 5322 §2.1.1), else
// quoted-printable. Returns (encoding, encoded body).
std::pair<const char*, std::string> EncodeText(std::string_view text) {
  std::string body = ToCrlfLines(text);
  bool seven = IsAscii(body);
  std::size_t line = 0;
  for (char c : body) {
    line = c == '\n' ? 0 : line + 1;
    if (line > 998) {
      seven = false;
      break;
    }
  }
  if (seven) {
    return {"7bit", std::move(body)};
  }
  return {"quoted-printable", QuotedPrintable(body)};
}

std::string Base64Lines(std::string_view data) {
  const std::string b = Base64Encode(data);
  std::string out;
  out.reserve(b.size() + b.size() / 76 * 2 + 2);
  for (std::size_t i = 0; i < b.size(); i += 76) {
    out.append(b, i, 76);
    out += "\r\n";
  }
  return out;
}

// Encoded words for UTF-8 text, split on character boundaries.
std::string EncodedWords(std::string_view s) {
  std::string out;
  while (!s.empty()) {
    std::size_t n = 0;
    while (n < s.size()) {
      std::size_t len = std::max<std::size_t>(1, Utf8SequenceLength(s.substr(n)));
      if (n + len > kWordBytes) {
        break;
      }
      n += len;
    }
    if (n == 0) {
      n = std::min(s.size(), kWordBytes);
    }
    if (!out.empty()) {
      out += "\r\n ";
    }
    out += "=?utf-8?B?" + Base64Encode(s.substr(0, n)) + "?=";
    s.remove_prefix(n);
  }
  return out;
}

bool IsAtext(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-/=?^_`{|}~ ").find(c) != std::string_view::npos;
}

// RFC 2231 §4: filename*=utf-8''percent-encoded.
std::string ExtendedParameter(std::string_view name, std::string_view value) {
  std::string out = std::string(name) + "*=utf-8''";
  constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
        c == '-' || c == '_') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string FilenameParameter(std::string_view filename) {
  const bool plain = IsAscii(filename) && std::all_of(filename.begin(), filename.end(), [](char c) {
                       return c >= ' ' && c != '"' && c != '\\' && c != 127;
                     });
  if (plain && filename.size() <= 60) {
    return "filename=\"" + std::string(filename) + "\"";
  }
  return ExtendedParameter("filename", filename);
}

std::string TextPart(std::string_view subtype, std::string_view text) {
  auto [cte, body] = EncodeText(text);
  return "Content-Type: text/" + std::string(subtype) +
         "; charset=utf-8\r\nContent-Transfer-Encoding: " + cte + "\r\n\r\n" + body;
}

std::string Multipart(std::string_view subtype, const std::string& boundary,
                      const std::vector<std::string>& parts) {
  std::string out =
      "Content-Type: multipart/" + std::string(subtype) + "; boundary=\"" + boundary + "\"\r\n\r\n";
  // RFC 2046 §5.1.1: the CRLF before a delimiter belongs to it, so each part
  // (which ends in its own CRLF) is followed by one more.
  for (const auto& p : parts) {
    out += "--" + boundary + "\r\n" + p + "\r\n";
  }
  out += "--" + boundary + "--\r\n";
  return out;
}

}  // namespace

bool ValidFieldName(std::string_view name) {
  return !name.empty() && name.size() <= 76 && std::all_of(name.begin(), name.end(), [](char c) {
    return c > ' ' && c < 127 && c != ':';
  });
}

std::string EncodeUnstructured(std::string_view utf8, std::size_t name_length) {
  if (!IsAscii(utf8)) {
    return EncodedWords(utf8);
  }
  // Fold at whitespace so lines stay near 78 columns (RFC 5322 §2.2.3).
  std::string out;
  std::size_t col = name_length;
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::size_t sp = utf8.find(' ', i + 1);
    std::string_view word = utf8.substr(i, sp == std::string_view::npos ? sp : sp - i);
    if (col + word.size() > kFold && !out.empty() && word.front() == ' ') {
      out += "\r\n";
      col = 0;
    }
    out += word;
    col += word.size();
    i += word.size();
  }
  return out;
}

std::string FormatMailbox(const Mailbox& m) {
  if (m.name.empty()) {
    return "<" + m.address + ">";
  }
  std::string name;
  if (!IsAscii(m.name)) {
    name = EncodedWords(m.name);
  } else if (std::all_of(m.name.begin(), m.name.end(), IsAtext)) {
    name = m.name;
  } else {
    name = "\"";
    for (char c : m.name) {
      if (c == '"' || c == '\\') {
        name += '\\';
      }
      name += c;
    }
    name += "\"";
  }
  return name + " <" + m.address + ">";
}

std::string Compose(const Composition& c, std::string_view unique) {
  std::string head = "From: " + FormatMailbox(c.from) + "\r\n";
  head += "To: " + FormatMailbox(c.to) + "\r\n";
  if (c.reply_to) {
    head += "Reply-To: " + FormatMailbox(*c.reply_to) + "\r\n";
  }
  if (!c.subject.empty()) {
    head += "Subject: " + EncodeUnstructured(c.subject, 9) + "\r\n";
  }
  for (const auto& [name, value] : c.headers) {
    head += name + ": " + EncodeUnstructured(value, name.size() + 2) + "\r\n";
  }
  head += "MIME-Version: 1.0\r\n";

  std::string body;
  if (!c.text.empty() && !c.html.empty()) {
    body = Multipart("alternative", "=_alt_" + std::string(unique),
                     {TextPart("plain", c.text), TextPart("html", c.html)});
  } else if (!c.html.empty()) {
    body = TextPart("html", c.html);
  } else {
    body = TextPart("plain", c.text);
  }
  if (!c.attachments.empty()) {
    std::vector<std::string> parts{std::move(body)};
    for (const auto& a : c.attachments) {
      parts.push_back("Content-Type: " + a.content_type +
                      "\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; " +
                      FilenameParameter(a.filename) + "\r\n\r\n" + Base64Lines(a.data));
    }
    body = Multipart("mixed", "=_mix_" + std::string(unique), parts);
  }
  // The body's own Content-* fields belong to the top-level header section.
  const std::size_t blank = body.find("\r\n\r\n");
  return head + body.substr(0, blank + 2) + "\r\n" + body.substr(blank + 4);
}

}  // namespace sluice::message
