#include "queue/queue_name.h"

#include <algorithm>

namespace sluice::queue {

bool ValidTag(std::string_view tag) {
  return !tag.empty() && tag.size() <= 64 && std::all_of(tag.begin(), tag.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
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
  // A domain has neither ':' nor '@', and neither has a tag: the first ':'
  // ends the campaign, the '@' after it ends the tenant.
  auto colon = text.find(':');
  if (colon != std::string_view::npos) {
    q.campaign = std::string(text.substr(0, colon));
    text.remove_prefix(colon + 1);
    if (!ValidTag(q.campaign)) {
      return std::nullopt;
    }
  }
  auto at = text.find('@');
  if (at != std::string_view::npos) {
    q.tenant = std::string(text.substr(0, at));
    text.remove_prefix(at + 1);
    if (!ValidTag(q.tenant)) {
      return std::nullopt;
    }
  }
  if (text.empty() || text.find_first_of(":@") != std::string_view::npos) {
    return std::nullopt;
  }
  q.domain = std::string(text);
  return q;
}

}  // namespace sluice::queue
