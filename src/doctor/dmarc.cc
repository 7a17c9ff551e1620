#include "doctor/dmarc.h"

#include <charconv>

#include "core/ascii.h"
#include "dkim/tag_list.h"

namespace sluice::doctor {
namespace {

bool ValidPolicy(const std::string& p) {
  return p == "none" || p == "quarantine" || p == "reject";
}

}  // namespace

std::vector<std::string> DmarcCandidates(const std::vector<std::string>& txt) {
  std::vector<std::string> out;
  for (const auto& t : txt) {
    std::string_view v = t;
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
      v.remove_prefix(1);
    }
    if (v.size() >= 8 && AsciiLower(v.substr(0, 8)) == "v=dmarc1") {
      out.push_back(t);
    }
  }
  return out;
}

std::optional<DmarcRecord> ParseDmarc(std::string_view text, std::string* why) {
  auto fail = [&](std::string w) -> std::optional<DmarcRecord> {
    if (why != nullptr) {
      *why = std::move(w);
    }
    return std::nullopt;
  };
  auto tags = dkim::ParseTagList(text);
  if (!tags) {
    return fail("the record is not a tag=value list");
  }
  if (tags->empty() || (*tags)[0].first != "v" || (*tags)[0].second != "DMARC1") {
    return fail("the record must start with v=DMARC1");
  }
  DmarcRecord r;
  auto p = dkim::Find(*tags, "p");
  if (!p) {
    return fail("p= (the policy) is missing");
  }
  r.policy = AsciiLower(*p);
  if (!ValidPolicy(r.policy)) {
    return fail("p=" + std::string(*p) + " is not none, quarantine or reject");
  }
  r.subdomain_policy = r.policy;
  if (auto sp = dkim::Find(*tags, "sp")) {
    r.subdomain_policy = AsciiLower(*sp);
    if (!ValidPolicy(r.subdomain_policy)) {
      return fail("sp=" + std::string(*sp) + " is not none, quarantine or reject");
    }
  }
  if (auto pct = dkim::Find(*tags, "pct")) {
    auto res = std::from_chars(pct->data(), pct->data() + pct->size(), r.pct);
    if (res.ec != std::errc() || res.ptr != pct->data() + pct->size() || r.pct < 0 || r.pct > 100) {
      return fail("pct= must be 0 to 100");
    }
  }
  for (const char* mode : {"adkim", "aspf"}) {
    if (auto m = dkim::Find(*tags, mode)) {
      std::string v = AsciiLower(*m);
      if (v != "r" && v != "s") {
        return fail(std::string(mode) + "= must be r or s");
      }
      (std::string_view(mode) == "adkim" ? r.adkim : r.aspf) = v;
    }
  }
  if (auto rua = dkim::Find(*tags, "rua")) {
    std::string list = dkim::StripWhitespace(*rua);
    for (std::size_t pos = 0; pos <= list.size();) {
      auto c = list.find(',', pos);
      std::string uri = list.substr(pos, c == std::string::npos ? std::string::npos : c - pos);
      if (!uri.empty()) {
        if (AsciiLower(uri).rfind("mailto:", 0) != 0) {
          return fail("rua= entries must be mailto: URIs");
        }
        r.rua.push_back(uri);
      }
      if (c == std::string::npos) {
        break;
      }
      pos = c + 1;
    }
  }
  return r;
}

}  // namespace sluice::doctor
