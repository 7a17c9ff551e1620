#include "suppression/store.h"

#include "core/address.h"
#include "core/ascii.h"

namespace sluice::suppression {

namespace {

constexpr std::pair<Reason, const char*> kReasons[] = {
    {Reason::kHardBounce, "hard-bounce"}, {Reason::kSoftBounce, "soft-bounce"},
    {Reason::kComplaint, "complaint"},    {Reason::kUnsubscribe, "unsubscribe"},
    {Reason::kManual, "manual"},
};

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 64) {
    return false;
  }
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool Valid(const Scope& s) {
  if (s.tenant.empty()) {
    return s.campaign.empty();
  }
  return ValidName(s.tenant) && (s.campaign.empty() || ValidName(s.campaign));
}

const char* ToString(Reason r) {
  for (const auto& [reason, name] : kReasons) {
    if (reason == r) {
      return name;
    }
  }
  return "unknown";
}

std::optional<Reason> ParseReason(std::string_view text) {
  const std::string lower = AsciiLower(text);
  for (const auto& [reason, name] : kReasons) {
    if (lower == name) {
      return reason;
    }
  }
  return std::nullopt;
}

std::string Describe(const Scope& s) {
  if (s.tenant.empty()) {
    return "global";
  }
  return s.campaign.empty() ? "tenant " + s.tenant : "campaign " + s.tenant + "/" + s.campaign;
}

std::optional<std::string> Key(std::string_view text) {
  if (!text.empty() && text.front() == '@') {
    auto domain = NormalizeDomain(text.substr(1));
    if (!domain || domain->empty() || domain->front() == '[') {
      return std::nullopt;
    }
    return "@" + *domain;
  }
  auto a = ParseMailbox(text);
  if (!a) {
    return std::nullopt;
  }
  return Key(*a);
}

std::string Key(const Address& a) {
  return AsciiLower(a.local) + "@" + a.ascii_domain;
}

}  // namespace sluice::suppression
