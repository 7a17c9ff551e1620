#include "mtasts/policy.h"

#include "core/ascii.h"

namespace sluice::mtasts {

namespace {

constexpr std::uint32_t kMaxAgeLimit = 31557600;  // RFC 8461 §3.2: about a year

bool IsWsp(char c) {
  return c == ' ' || c == '\t';
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// A host name or "*." and one: letters, digits, '-', '.', labels of 1 to 63.
bool ValidPattern(std::string_view p) {
  if (p.substr(0, 2) == "*.") {
    p.remove_prefix(2);
  }
  if (p.empty() || p.size() > 253) {
    return false;
  }
  std::size_t label = 0;
  for (char c : p) {
    if (c == '.') {
      if (label == 0) {
        return false;
      }
      label = 0;
    } else if (IsAlnum(c) || c == '-' || c == '_') {
      if (++label > 63) {
        return false;
      }
    } else {
      return false;
    }
  }
  return label != 0;
}

}  // namespace

const char* ToString(Mode m) {
  switch (m) {
    case Mode::kNone:
      return "none";
    case Mode::kTesting:
      return "testing";
    case Mode::kEnforce:
      return "enforce";
  }
  return "none";
}

Result<Record, std::string> ParseRecord(std::string_view txt) {
  Record r;
  bool first = true;
  bool have_id = false;
  while (!txt.empty()) {
    const auto semi = txt.find(';');
    std::string_view field = TrimWsp(txt.substr(0, semi));
    txt = semi == std::string_view::npos ? std::string_view() : txt.substr(semi + 1);
    if (field.empty()) {
      if (first) {
        return Fail(std::string("the record does not start with v=STSv1"));
      }
      continue;  // a trailing ';'
    }
    const auto eq = field.find('=');
    if (eq == std::string_view::npos) {
      return Fail("a field without '=': " + std::string(field));
    }
    const std::string_view key = TrimWsp(field.substr(0, eq));
    const std::string_view value = TrimWsp(field.substr(eq + 1));
    if (first) {
      if (key != "v" || value != "STSv1") {
        return Fail(std::string("the record does not start with v=STSv1"));
      }
      first = false;
      continue;
    }
    if (key == "id" && !have_id) {
      if (value.empty() || value.size() > 32) {
        return Fail(std::string("id must be 1 to 32 letters and digits"));
      }
      for (char c : value) {
        if (!IsAlnum(c)) {
          return Fail(std::string("id must be 1 to 32 letters and digits"));
        }
      }
      r.id = std::string(value);
      have_id = true;
    }
    // Extension fields are ignored.
  }
  if (first) {
    return Fail(std::string("the record does not start with v=STSv1"));
  }
  if (!have_id) {
    return Fail(std::string("the record has no id"));
  }
  return r;
}

Result<Record, std::string> PickRecord(const std::vector<std::string>& txts) {
  const std::string* found = nullptr;
  for (const auto& t : txts) {
    std::string_view v = TrimWsp(t);
    if (v.substr(0, 7) == "v=STSv1" && (v.size() == 7 || v[7] == ';' || IsWsp(v[7]))) {
      if (found != nullptr) {
        return Fail(std::string("more than one v=STSv1 record"));
      }
      found = &t;
    }
  }
  if (found == nullptr) {
    return Fail(std::string());
  }
  return ParseRecord(*found);
}

Result<Policy, std::string> ParsePolicy(std::string_view text) {
  if (text.size() > kMaxPolicyBytes) {
    return Fail(std::string("the policy is larger than 64 KiB"));
  }
  Policy p;
  bool have_version = false;
  bool have_mode = false;
  bool have_max_age = false;
  // RFC 8461 §3.2 lists version first; policies in the wild sometimes do
  // not, so only its presence is required.
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    line = TrimWsp(line);
    if (line.empty()) {
      continue;
    }
    for (char c : line) {
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
        return Fail(std::string("a control character in the policy"));
      }
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      return Fail("a line without ':': " + std::string(line.substr(0, 80)));
    }
    const std::string_view key = TrimWsp(line.substr(0, colon));
    const std::string_view value = TrimWsp(line.substr(colon + 1));
    if (key == "version") {
      if (have_version) {
        continue;
      }
      if (value != "STSv1") {
        return Fail("unknown version " + std::string(value.substr(0, 32)));
      }
      have_version = true;
    } else if (key == "mode") {
      if (have_mode) {
        continue;
      }
      if (value == "enforce") {
        p.mode = Mode::kEnforce;
      } else if (value == "testing") {
        p.mode = Mode::kTesting;
      } else if (value == "none") {
        p.mode = Mode::kNone;
      } else {
        return Fail("unknown mode " + std::string(value.substr(0, 32)));
      }
      have_mode = true;
    } else if (key == "max_age") {
      if (have_max_age) {
        continue;
      }
      if (value.empty() || value.size() > 10) {
        return Fail(std::string("max_age must be 1 to 10 digits"));
      }
      std::uint64_t v = 0;
      for (char c : value) {
        if (c < '0' || c > '9') {
          return Fail(std::string("max_age must be 1 to 10 digits"));
        }
        v = v * 10 + static_cast<unsigned>(c - '0');
      }
      p.max_age = static_cast<std::uint32_t>(v > kMaxAgeLimit ? kMaxAgeLimit : v);
      have_max_age = true;
    } else if (key == "mx") {
      std::string pattern = AsciiLower(value);
      while (!pattern.empty() && pattern.back() == '.') {
        pattern.pop_back();
      }
      if (!ValidPattern(pattern)) {
        return Fail("not a host name pattern: mx: " + std::string(value.substr(0, 80)));
      }
      if (p.mx.size() < 1000) {
        p.mx.push_back(std::move(pattern));
      }
    }
    // Unknown keys are ignored (RFC 8461 §3.2).
  }
  if (!have_version) {
    return Fail(std::string("no version: STSv1"));
  }
  if (!have_mode) {
    return Fail(std::string("no mode"));
  }
  if (!have_max_age) {
    return Fail(std::string("no max_age"));
  }
  if (p.mode != Mode::kNone && p.mx.empty()) {
    return Fail(std::string("no mx line"));
  }
  return p;
}

bool PatternMatches(std::string_view pattern, std::string_view host) {
  if (pattern.substr(0, 2) == "*.") {
    // One whole left-most label: "*.example.com" matches "mx.example.com",
    // not "example.com" nor "a.b.example.com".
    const auto dot = host.find('.');
    return dot != std::string_view::npos && dot > 0 && host.substr(dot + 1) == pattern.substr(2);
  }
  return pattern == host;
}

bool Policy::Matches(std::string_view mx_host) const {
  std::string host = AsciiLower(mx_host);
  while (!host.empty() && host.back() == '.') {
    host.pop_back();
  }
  for (const auto& pattern : mx) {
    if (PatternMatches(pattern, host)) {
      return true;
    }
  }
  return false;
}

}  // namespace sluice::mtasts
