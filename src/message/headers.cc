#include "message/headers.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/time_format.h"

namespace sluice::message {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

// Text from the client placed inside a comment or domain: printable ASCII only,
// no comment delimiters, bounded.
std::string Sanitise(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 255)) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u > 32 && u < 127 && c != '(' && c != ')' && c != '\\' ? c : '_');
  }
  return out.empty() ? std::string("unknown") : out;
}

}  // namespace

std::string_view HeaderSection(std::string_view data) {
  if (data.substr(0, 2) == "\r\n") {
    return {};
  }
  auto end = data.find("\r\n\r\n");
  return end == std::string_view::npos ? data : data.substr(0, end + 2);
}

std::size_t CountFields(std::string_view data, std::string_view name) {
  std::string_view h = HeaderSection(data);
  std::size_t pos = 0;
  std::size_t n = 0;
  while (pos < h.size()) {
    auto eol = h.find("\r\n", pos);
    std::string_view line = h.substr(pos, eol == std::string_view::npos ? h.npos : eol - pos);
    auto colon = line.find(':');
    if (colon != std::string_view::npos && line.front() != ' ' && line.front() != '\t') {
      std::string_view field = line.substr(0, colon);
      while (!field.empty() && (field.back() == ' ' || field.back() == '\t')) {
        field.remove_suffix(1);
      }
      if (IEquals(field, name)) {
        ++n;
      }
    }
    if (eol == std::string_view::npos) {
      break;
    }
    pos = eol + 2;
  }
  return n;
}

bool HasField(std::string_view data, std::string_view name) {
  return CountFields(data, name) > 0;
}

std::optional<std::string> FieldValue(std::string_view data, std::string_view name) {
  if (!HasField(data, name)) {
    return std::nullopt;
  }
  std::string header(HeaderSection(data));
  return TakeField(header, name);
}

std::optional<std::string> TakeField(std::string& data, std::string_view name) {
  if (!HasField(data, name)) {
    return std::nullopt;  // the usual case: no copy
  }
  const std::size_t header_end = HeaderSection(data).size();
  std::optional<std::string> first;
  std::string out;
  std::size_t pos = 0;
  bool dropping = false;   // inside a field being removed (its continuation lines too)
  bool capturing = false;  // ... and it is the first one, whose value is returned
  while (pos < header_end) {
    auto eol = data.find("\r\n", pos);
    std::size_t next = eol == std::string::npos || eol + 2 > header_end ? header_end : eol + 2;
    std::string_view line(data.data() + pos, next - pos);
    const bool continuation = line.front() == ' ' || line.front() == '\t';
    if (!continuation) {
      dropping = false;
      capturing = false;
      auto colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string_view field = line.substr(0, colon);
        while (!field.empty() && (field.back() == ' ' || field.back() == '\t')) {
          field.remove_suffix(1);
        }
        dropping = IEquals(field, name);
        if (dropping && !first) {
          first.emplace(line.substr(colon + 1));
          capturing = true;
        }
      }
    } else if (capturing && first->size() < 4096) {
      first->append(line);  // unfolded below
    }
    if (!dropping) {
      out.append(line);
    }
    pos = next;
  }
  if (!first) {
    return std::nullopt;
  }
  out.append(data, header_end, std::string::npos);
  data = std::move(out);
  // Unfold (RFC 5322 §2.2.3) and trim.
  std::string value;
  for (char c : *first) {
    if (c != '\r' && c != '\n') {
      value.push_back(c == '\t' ? ' ' : c);
    }
  }
  auto b = value.find_first_not_of(' ');
  auto e = value.find_last_not_of(' ');
  return b == std::string::npos ? std::string() : value.substr(b, e - b + 1);
}

std::string BuildReceived(const TraceInfo& t) {
  std::string out = fmt::format("Received: from {} ([{}])\r\n\tby {} (Sluice) with {} id {}",
                                Sanitise(t.helo), t.client_ip, t.by_host, t.protocol, t.id);
  if (!t.tls_version.empty()) {
    out += fmt::format("\r\n\t(using {} with cipher {} ({} bits))", t.tls_version, t.tls_cipher,
                       t.tls_bits);
  }
  if (!t.single_recipient.empty()) {
    out += fmt::format("\r\n\tfor <{}>", t.single_recipient);
  }
  out += fmt::format(";\r\n\t{}\r\n", Rfc5322Date(t.when));
  return out;
}

}  // namespace sluice::message
