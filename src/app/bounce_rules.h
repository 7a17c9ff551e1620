#pragma once
// Reads bounce classification rules (TOML, etc/bounce.toml's form) into a
// bounce::Classifier; problems are reported as file:line: key: what is wrong.

#include <memory>
#include <string>

#include "bounce/classify.h"
#include "core/result.h"

namespace sluice::app {

// The rules shipped in etc/bounce.toml, built in.
extern const char* const kDefaultBounceRules;

// `path` "": the built-in rules.
Result<std::shared_ptr<const bounce::Classifier>, std::string> LoadBounceRules(
    const std::string& path);
// From text (`source` names it in errors).
Result<std::shared_ptr<const bounce::Classifier>, std::string> ParseBounceRules(
    std::string_view text, const std::string& source);

}  // namespace sluice::app
