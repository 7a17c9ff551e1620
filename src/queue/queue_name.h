#pragma once
// Scheduled queue names, as KumoMTA spells them: "campaign:tenant@domain",
// each of campaign and tenant optional ("tenant@domain", "campaign:domain",
// "domain"). The tenant is who sends (an account); the campaign is an
// optional tag its mail carries. Both route mail to egress pools and can be
// suspended on a site by a shaping rule.

#include <optional>
#include <string>
#include <string_view>

namespace sluice::queue {

// True if `tag` may name a tenant or a campaign: 1-64 of [A-Za-z0-9._-].
bool ValidTag(std::string_view tag);

struct QueueName {
  std::string campaign;
  std::string tenant;
  std::string domain;

  std::string ToString() const;
  // Splits a queue name; nullopt if a tenant or campaign part is not a
  // ValidTag or the domain is empty.
  static std::optional<QueueName> Parse(std::string_view text);
};

}  // namespace sluice::queue
