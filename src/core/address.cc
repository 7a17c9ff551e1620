#include "core/address.h"

#include <algorithm>
#include <cstdlib>

#include <arpa/inet.h>
#include <idn2.h>

#include "core/utf8.h"

namespace sluice {
namespace {

constexpr std::size_t kMaxLocalPart = 64;  // RFC 5321 §4.5.3.1.1
constexpr std::size_t kMaxDomain = 255;    // RFC 5321 §4.5.3.1.2
constexpr std::size_t kMaxPath = 256;      // RFC 5321 §4.5.3.1.3 (with brackets)
constexpr std::size_t kMaxLabel = 63;

bool IsAlpha(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsDigit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool IsNonAscii(unsigned char c) {
  return c >= 0x80;
}

// RFC 5322 atext, extended by RFC 6531 with UTF8-non-ascii.
bool IsAtext(unsigned char c) {
  if (IsAlpha(c) || IsDigit(c) || IsNonAscii(c)) {
    return true;
  }
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
         std::string_view::npos;
}

bool HasNonAscii(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return IsNonAscii(c); });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// Dot-string or Quoted-string; returns false on malformed input.
bool ValidLocalPart(std::string_view lp) {
  if (lp.empty()) {
    return false;
  }
  if (lp.front() == '"') {
    if (lp.size() < 2 || lp.back() != '"') {
      return false;
    }
    for (std::size_t i = 1; i + 1 < lp.size(); ++i) {
      auto c = static_cast<unsigned char>(lp[i]);
      if (c == '\\') {
        if (i + 2 >= lp.size()) {
          return false;
        }
        auto n = static_cast<unsigned char>(lp[++i]);
        if (n < 32 || n > 126) {
          return false;
        }
      } else if (c == '"' || (c < 32) || c == 127) {
        return false;
      }
    }
    return true;
  }
  bool at_start = true;
  for (char ch : lp) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '.') {
      if (at_start) {
        return false;
      }
      at_start = true;
    } else if (IsAtext(c)) {
      at_start = false;
    } else {
      return false;
    }
  }
  return !at_start;
}

bool ValidAddressLiteral(std::string_view lit) {
  // lit excludes brackets.
  char buf[sizeof(struct in6_addr)];
  if (lit.size() > 5 && (lit.substr(0, 5) == "IPv6:" || lit.substr(0, 5) == "ipv6:")) {
    std::string s(lit.substr(5));
    return inet_pton(AF_INET6, s.c_str(), buf) == 1;
  }
  std::string s(lit);
  return inet_pton(AF_INET, s.c_str(), buf) == 1;
}

bool ValidAsciiDomain(std::string_view d) {
  if (d.empty() || d.size() > kMaxDomain) {
    return false;
  }
  std::size_t label_len = 0;
  char prev = '.';
  for (char c : d) {
    if (c == '.') {
      if (label_len == 0 || prev == '-') {
        return false;
      }
      label_len = 0;
    } else if (IsAlpha(c) || IsDigit(c) || (c == '-' && label_len > 0)) {
      if (++label_len > kMaxLabel) {
        return false;
      }
    } else {
      return false;
    }
    prev = c;
  }
  return label_len > 0 && prev != '-';
}

}  // namespace

const char* ToString(AddressError e) {
  switch (e) {
    case AddressError::kSyntax:
      return "address syntax error";
    case AddressError::kLocalPart:
      return "malformed local part";
    case AddressError::kDomain:
      return "malformed domain";
    case AddressError::kTooLong:
      return "address too long";
    case AddressError::kIdna:
      return "domain rejected by IDNA";
    case AddressError::kUtf8:
      return "address is not well-formed UTF-8";
  }
  return "address error";
}

std::string Address::ToString() const {
  if (IsNull()) {
    return {};
  }
  if (domain.empty()) {
    return local;
  }
  return local + "@" + domain;
}

Result<std::string, AddressError> NormalizeDomain(std::string_view d) {
  if (d.size() > kMaxDomain) {
    return Fail(AddressError::kTooLong);
  }
  if (!d.empty() && d.front() == '[') {
    if (d.back() != ']' || !ValidAddressLiteral(d.substr(1, d.size() - 2))) {
      return Fail(AddressError::kDomain);
    }
    return Lower(d);
  }
  if (HasNonAscii(d)) {
    std::string in(d);
    char* out = nullptr;
    int rc = idn2_to_ascii_8z(in.c_str(), &out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
    if (rc != IDN2_OK || out == nullptr) {
      return Fail(AddressError::kIdna);
    }
    std::string ascii = Lower(out);
    idn2_free(out);
    if (!ValidAsciiDomain(ascii)) {
      return Fail(AddressError::kDomain);
    }
    return ascii;
  }
  if (!ValidAsciiDomain(d)) {
    return Fail(AddressError::kDomain);
  }
  return Lower(d);
}

Result<Address, AddressError> ParseMailbox(std::string_view in) {
  if (HasNonAscii(in) && !IsValidUtf8(in)) {
    return Fail(AddressError::kUtf8);  // RFC 6531 §3.3: UTF-8 only, well-formed
  }
  // The domain starts after the last '@' outside a quoted local part.
  std::size_t at = std::string_view::npos;
  if (!in.empty() && in.front() == '"') {
    // Find the closing quote, honouring quoted pairs.
    std::size_t i = 1;
    for (; i < in.size(); ++i) {
      if (in[i] == '\\') {
        ++i;
      } else if (in[i] == '"') {
        break;
      }
    }
    if (i >= in.size()) {
      return Fail(AddressError::kLocalPart);
    }
    at = i + 1;
    if (at >= in.size() || in[at] != '@') {
      return Fail(AddressError::kSyntax);
    }
  } else {
    at = in.find('@');
    if (at == std::string_view::npos) {
      return Fail(AddressError::kSyntax);
    }
  }
  std::string_view local = in.substr(0, at);
  std::string_view domain = in.substr(at + 1);
  if (local.size() > kMaxLocalPart) {
    return Fail(AddressError::kTooLong);
  }
  if (!ValidLocalPart(local)) {
    return Fail(AddressError::kLocalPart);
  }
  if (domain.empty()) {
    return Fail(AddressError::kDomain);
  }
  auto ascii = NormalizeDomain(domain);
  if (!ascii) {
    return Fail(ascii.error());
  }
  Address a;
  a.local = std::string(local);
  a.domain = std::string(domain);
  a.ascii_domain = std::move(ascii).value();
  a.utf8 = HasNonAscii(local) || HasNonAscii(domain);
  return a;
}

Result<ParsedPath, AddressError> ParsePath(std::string_view in, const PathOptions& opts) {
  std::string_view body;
  std::size_t consumed = 0;
  if (!in.empty() && in.front() == '<') {
    // Scan to the closing '>' outside quotes.
    bool quoted = false;
    std::size_t i = 1;
    for (; i < in.size(); ++i) {
      char c = in[i];
      if (quoted && c == '\\') {
        ++i;
        continue;
      }
      if (c == '"') {
        quoted = !quoted;
      } else if (c == '>' && !quoted) {
        break;
      }
    }
    if (i >= in.size()) {
      return Fail(AddressError::kSyntax);
    }
    consumed = i + 1;
    body = in.substr(1, i - 1);
  } else {
    if (!opts.allow_unbracketed || in.empty()) {
      return Fail(AddressError::kSyntax);
    }
    consumed = std::min(in.find(' '), in.size());
    body = in.substr(0, consumed);
  }
  if (consumed > kMaxPath) {
    return Fail(AddressError::kTooLong);
  }
  if (body.empty()) {
    if (!opts.allow_null) {
      return Fail(AddressError::kSyntax);
    }
    return ParsedPath{Address{}, consumed};
  }
  // Drop an obsolete source route: "@a,@b:".
  if (body.front() == '@') {
    auto colon = body.find(':');
    if (colon == std::string_view::npos) {
      return Fail(AddressError::kSyntax);
    }
    body.remove_prefix(colon + 1);
  }
  if (opts.allow_postmaster && body.size() == 10) {
    std::string l = Lower(body);
    if (l == "postmaster") {
      Address a;
      a.local = std::string(body);
      return ParsedPath{std::move(a), consumed};
    }
  }
  auto mb = ParseMailbox(body);
  if (!mb) {
    return Fail(mb.error());
  }
  return ParsedPath{std::move(mb).value(), consumed};
}

}  // namespace sluice
