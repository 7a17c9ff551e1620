#pragma once
// Reads a traffic shaping rules file (TOML) into shaping::Rules; every problem
// is recorded in the document's errors as file:line: key: what is wrong.
//
//   [default]                      options for every destination
//   [provider.NAME]                mx_suffixes = [".google.com", ...] and options
//   [provider.NAME.source."IP"]    options for mail from that egress address
//   [domain."DOMAIN"]              options for one destination domain
//   [domain."DOMAIN".source."IP"]
//
// Options: connection_limit, max_connection_rate ("60/min"), max_message_rate,
// max_deliveries_per_connection, max_recipients_per_transaction, idle_timeout,
// tls ("disabled", "opportunistic", "required").

#include <memory>
#include <string>

#include "config/config.h"
#include "shaping/rules.h"

namespace sluice::app {

shaping::Rules BindShapingRules(const config::Document& doc);

// Loads and checks a file; errors (if any) are returned one per line.
struct LoadedRules {
  std::shared_ptr<const shaping::Rules> rules;
  std::string errors;
};
LoadedRules LoadShapingRules(const std::string& path);
// The same, adding any errors to `errors` (null rules then).
std::shared_ptr<const shaping::Rules> LoadShapingFile(const std::string& path,
                                                      config::Errors& errors);

}  // namespace sluice::app
