#include "tracking/html.h"

#include <cctype>
#include <cstdint>

#include "core/ascii.h"

namespace sluice::tracking {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

bool IStartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && AsciiLower(s.substr(0, prefix.size())) == prefix;
}

void AppendUtf8(std::string& out, std::uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    cp = 0xFFFD;
  }
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Where the tag starting at `lt` ('<') ends: one past its '>', quotes
// respected; npos if it does not end.
std::size_t TagEnd(std::string_view html, std::size_t lt) {
  char quote = 0;
  for (std::size_t i = lt + 1; i < html.size(); ++i) {
    const char c = html[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// The tag `tag` (from '<' to '>') with its href rewritten, if it has an
// http(s) one `link` replaces; else the tag as it is.
std::string RewriteHref(std::string_view tag, const LinkFn& link) {
  std::size_t i = 1;
  while (i < tag.size() && !IsSpace(tag[i]) && tag[i] != '>' && tag[i] != '/') {
    ++i;  // the tag name
  }
  while (i < tag.size()) {
    while (i < tag.size() && (IsSpace(tag[i]) || tag[i] == '/')) {
      ++i;
    }
    const std::size_t name_start = i;
    while (i < tag.size() && !IsSpace(tag[i]) && tag[i] != '=' && tag[i] != '>' && tag[i] != '/') {
      ++i;
    }
    const std::string name = AsciiLower(tag.substr(name_start, i - name_start));
    if (name.empty()) {
      break;  // '>'
    }
    std::size_t j = i;
    while (j < tag.size() && IsSpace(tag[j])) {
      ++j;
    }
    if (j >= tag.size() || tag[j] != '=') {
      continue;  // an attribute without a value
    }
    ++j;
    while (j < tag.size() && IsSpace(tag[j])) {
      ++j;
    }
    std::size_t value_start = j;
    std::size_t value_end = j;
    std::size_t after = j;
    if (j < tag.size() && (tag[j] == '"' || tag[j] == '\'')) {
      const char q = tag[j];
      value_start = j + 1;
      value_end = tag.find(q, value_start);
      if (value_end == std::string_view::npos) {
        return std::string(tag);
      }
      after = value_end + 1;
    } else {
      while (value_end < tag.size() && !IsSpace(tag[value_end]) && tag[value_end] != '>') {
        ++value_end;
      }
      after = value_end;
    }
    if (name == "href") {
      const std::string url(
          TrimWsp(DecodeAttribute(tag.substr(value_start, value_end - value_start))));
      if (!IStartsWith(url, "http://") && !IStartsWith(url, "https://")) {
        return std::string(tag);
      }
      auto replaced = link(url);
      if (!replaced) {
        return std::string(tag);
      }
      std::string out(tag.substr(0, name_start));
      out += "href=\"" + *replaced + "\"";
      out += tag.substr(after);
      return out;
    }
    i = after;
  }
  return std::string(tag);
}

}  // namespace

std::string DecodeAttribute(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '&') {
      out += value[i];
      continue;
    }
    // References are short: look a few octets ahead only (no quadratic
    // scan of a long value full of '&').
    const std::size_t rel = value.substr(i, 12).find(';');
    if (rel == std::string_view::npos) {
      out += value[i];
      continue;
    }
    const std::size_t semi = i + rel;
    const std::string ref = AsciiLower(value.substr(i + 1, semi - i - 1));
    std::string decoded;
    if (ref == "amp") {
      decoded = "&";
    } else if (ref == "lt") {
      decoded = "<";
    } else if (ref == "gt") {
      decoded = ">";
    } else if (ref == "quot") {
      decoded = "\"";
    } else if (ref == "apos") {
      decoded = "'";
    } else if (ref.size() >= 2 && ref[0] == '#') {
      const bool hex = ref[1] == 'x';
      const std::string digits = ref.substr(hex ? 2 : 1);
      std::uint32_t cp = 0;
      bool ok = !digits.empty();
      for (char c : digits) {
        const int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                      : hex && c >= 'a' && c <= 'f'               ? c - 'a' + 10
                                                                  : -1;
        if (d < 0 || cp > 0x10FFFF) {
          ok = false;
          break;
        }
        cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(d);
      }
      if (ok) {
        AppendUtf8(decoded, cp);
      }
    }
    if (decoded.empty()) {
      out += value[i];
      continue;
    }
    out += decoded;
    i = semi;
  }
  return out;
}

std::string TrackHtml(std::string_view html, const LinkFn& link, std::string_view pixel_url) {
  std::string out;
  out.reserve(html.size() + html.size() / 4 + 128);
  std::size_t body_close = std::string_view::npos;  // in `out`
  std::size_t pos = 0;
  while (pos < html.size()) {
    const std::size_t lt = html.find('<', pos);
    if (lt == std::string_view::npos) {
      out += html.substr(pos);
      break;
    }
    out += html.substr(pos, lt - pos);
    if (html.substr(lt, 4) == "<!--") {
      // A comment: copied whole, nothing inside it is a tag.
      const std::size_t end = html.find("-->", lt + 4);
      const std::size_t stop = end == std::string_view::npos ? html.size() : end + 3;
      out += html.substr(lt, stop - lt);
      pos = stop;
      continue;
    }
    const std::size_t end = TagEnd(html, lt);
    if (end == std::string_view::npos) {
      out += html.substr(lt);
      break;
    }
    const std::string_view tag = html.substr(lt, end - lt);
    const bool anchor = (IStartsWith(tag, "<a") && tag.size() > 2 && (IsSpace(tag[2]))) ||
                        (IStartsWith(tag, "<area") && tag.size() > 5 && IsSpace(tag[5]));
    if (IStartsWith(tag, "</body")) {
      body_close = out.size();
    }
    out += anchor && link ? RewriteHref(tag, link) : std::string(tag);
    pos = end;
  }
  if (!pixel_url.empty()) {
    const std::string img = "<img src=\"" + std::string(pixel_url) +
                            "\" width=\"1\" height=\"1\" alt=\"\" "
                            "style=\"display:block;width:1px;height:1px;border:0\">";
    if (body_close != std::string::npos) {
      out.insert(body_close, img);
    } else {
      out += img;
    }
  }
  return out;
}

}  // namespace sluice::tracking
