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
  auto take_tag = [&text](char separator, std::string& tag) {
    auto end = text.find(separator);
    if (end == std::string_view::npos || end > text.find('[')) {
      return true;  // no such tag
    }
    tag = std::string(text.substr(0, end));
    text.remove_prefix(end + 1);
    return ValidTag(tag);
  };
  if (!take_tag(':', q.campaign) || !take_tag('@', q.tenant) || text.empty()) {
    return std::nullopt;
  }
  // An address literal is one bracketed group; a name has no separators.
  const bool literal = text.front() == '[';
  if (literal
          ? text.size() < 3 || text.back() != ']' || text.find_first_of("[]", 1) != text.size() - 1
          : text.find_first_of(":@[]") != std::string_view::npos) {
    return std::nullopt;
  }
  q.domain = std::string(text);
  return q;
}

}  // namespace sluice::queue
