#include "dkim/tag_list.h"

namespace sluice::dkim {
namespace {

bool IsFws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsFws(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && IsFws(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

bool ValidTagName(std::string_view s) {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) {
    return false;
  }
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<TagList> ParseTagList(std::string_view text) {
  TagList out;
  while (!text.empty()) {
    auto semi = text.find(';');
    std::string_view spec = Trim(text.substr(0, semi));
    text = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
    if (spec.empty()) {
      if (semi == std::string_view::npos || Trim(text).empty()) {
        break;  // a trailing ';' is allowed
      }
      return std::nullopt;
    }
    auto eq = spec.find('=');
    if (eq == std::string_view::npos) {
      return std::nullopt;
    }
    std::string_view name = Trim(spec.substr(0, eq));
    std::string_view value = Trim(spec.substr(eq + 1));
    if (!ValidTagName(name)) {
      return std::nullopt;
    }
    for (const auto& [n, v] : out) {
      if (n == name) {
        return std::nullopt;
      }
    }
    out.emplace_back(std::string(name), std::string(value));
  }
  return out;
}

std::optional<std::string_view> Find(const TagList& tags, std::string_view tag) {
  for (const auto& [n, v] : tags) {
    if (n == tag) {
      return std::string_view(v);
    }
  }
  return std::nullopt;
}

std::string StripWhitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (!IsFws(c)) {
      out += c;
    }
  }
  return out;
}

}  // namespace sluice::dkim
