#include "tlsrpt/record.h"

#include "core/ascii.h"

namespace sluice::tlsrpt {

std::vector<std::string> RecordsIn(const std::vector<std::string>& txt) {
  std::vector<std::string> found;
  for (const auto& t : txt) {
    if (TrimWsp(t).substr(0, 10) == "v=TLSRPTv1") {
      found.push_back(t);
    }
  }
  return found;
}

Result<std::vector<std::string>, std::string> ParseRecord(std::string_view txt) {
  std::vector<std::string> rua;
  bool first = true;
  while (!txt.empty()) {
    const auto semi = txt.find(';');
    std::string_view field = TrimWsp(txt.substr(0, semi));
    txt = semi == std::string_view::npos ? std::string_view() : txt.substr(semi + 1);
    if (field.empty()) {
      continue;
    }
    const auto eq = field.find('=');
    if (eq == std::string_view::npos) {
      return Fail("a field without '=': " + std::string(field));
    }
    const auto key = TrimWsp(field.substr(0, eq));
    const auto value = TrimWsp(field.substr(eq + 1));
    if (first) {
      if (key != "v" || value != "TLSRPTv1") {
        return Fail(std::string("the record does not start with v=TLSRPTv1"));
      }
      first = false;
      continue;
    }
    if (key == "rua" && rua.empty()) {
      std::string_view list = value;
      while (!list.empty()) {
        const auto comma = list.find(',');
        std::string uri(TrimWsp(list.substr(0, comma)));
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        const std::string lower = AsciiLower(uri);
        if (lower.rfind("mailto:", 0) != 0 && lower.rfind("https://", 0) != 0) {
          return Fail("rua must list mailto: or https: URIs, not " + uri);
        }
        rua.push_back(std::move(uri));
      }
    }
  }
  if (first) {
    return Fail(std::string("the record does not start with v=TLSRPTv1"));
  }
  if (rua.empty()) {
    return Fail(std::string("the record has no rua"));
  }
  return rua;
}

}  // namespace sluice::tlsrpt
