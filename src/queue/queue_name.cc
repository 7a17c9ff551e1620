#include "queue/queue_name.h"

#include <algorithm>

namespace sluice::queue {

bool ValidTag(std::string_view tag) {
  return !tag.empty() && tag.size() <= 64 && std::all_of(tag.begin(), tag.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::string QueueName::ToString() const {
  std::string out;
  out.reserve(campaign.size() + tenant.size() + domain.size() + 2);
  if (!campaign.empty()) {
    out += campaign;
    out += ':';
  }
  if (!tenant.empty()) {
    out += tenant;
    out += '@';
  }
  out += domain;
  return out;
}

std::optional<QueueName> QueueName::Parse(std::string_view text) {
  QueueName q;
  // Neither tag has ':' or '@', and a domain has neither outside an address
  // literal ("[IPv6:2001:db8::1]"): the first ':' before any '[' ends the
  // campaign, the '@' after it ends the tenant.
  auto literal = text.find('[');
  auto colon = text.find(':');
  if (colon < literal) {
    q.campaign = std::string(text.substr(0, colon));
    if (!ValidTag(q.campaign)) {
      return std::nullopt;
    }
    text.remove_prefix(colon + 1);
    literal -= literal == std::string_view::npos ? 0 : colon + 1;
  }
  auto at = text.find('@');
  if (at < literal) {
    q.tenant = std::string(text.substr(0, at));
    if (!ValidTag(q.tenant)) {
      return std::nullopt;
    }
    text.remove_prefix(at + 1);
    literal -= literal == std::string_view::npos ? 0 : at + 1;
  }
  if (text.empty()) {
    return std::nullopt;
  }
  if (literal == 0) {
    if (text.back() != ']') {
      return std::nullopt;
    }
  } else if (text.find_first_of(":@[") != std::string_view::npos) {
    return std::nullopt;
  }
  q.domain = std::string(text);
  return q;
}

}  // namespace sluice::queue
