#include "message/mime.h"

#include <algorithm>

#include "core/ascii.h"

namespace sluice::message::mime {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x | 0x20 : x) == (y >= 'A' && y <= 'Z' ? y | 0x20 : y);
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

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
    out.push_back(
        {colon == std::string_view::npos ? std::string_view{} : Trim(text.substr(0, colon)), text});
    pos = end;
  }
  return out;
}

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

std::string MediaType(std::string_view value) {
  return AsciiLower(Trim(value.substr(0, value.find(';'))));
}

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

std::string Rewrite(const std::vector<Field>& fields, const std::vector<std::string_view>& drop,
                    std::string_view extra) {
  std::string out;
  for (const auto& f : fields) {
    if (std::none_of(drop.begin(), drop.end(),
                     [&](std::string_view d) { return IEquals(f.name, d); })) {
      out += f.text;
      if (f.text.size() < 2 || f.text.substr(f.text.size() - 2) != "\r\n") {
        out += "\r\n";
      }
    }
  }
  out += extra;
  return out;
}

bool WalkMultipart(std::string_view body, const std::string& boundary,
                   const std::function<void(std::string_view)>& filler,
                   const std::function<void(std::string_view)>& raw,
                   const std::function<bool(std::string_view)>& part) {
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
    filler(body);
    return true;
  }
  filler(body.substr(0, ds[0].begin));
  for (std::size_t i = 0; i < ds.size(); ++i) {
    const auto& d = ds[i];
    if (d.close) {
      filler(body.substr(d.begin));
      return true;
    }
    raw(body.substr(d.begin, d.end - d.begin));
    if (d.end >= body.size()) {
      return true;
    }
    raw("\r\n");
    std::size_t start = d.end + 2;
    if (i + 1 == ds.size()) {
      return part(body.substr(start));  // no close delimiter
    }
    std::size_t next = ds[i + 1].begin;
    if (next >= start + 2) {
      if (!part(body.substr(start, next - 2 - start))) {
        return false;
      }
      raw("\r\n");
    }
  }
  return true;
}

}  // namespace sluice::message::mime
