#include "app/bounce_rules.h"

#include "config/config.h"

namespace sluice::app {
namespace {

Result<std::shared_ptr<const bounce::Classifier>, std::string> Bind(const config::Document& doc) {
  std::vector<bounce::Rule> rules;
  auto root = doc.Root();
  root.RejectUnknown({"rule"});
  for (const auto& s : root.Tables("rule")) {
    s.RejectUnknown({"name", "provider", "class", "hard", "codes", "enhanced", "text",
                     "case_sensitive", "example"});
    bounce::Rule r;
    r.name = s.String("name", "");
    if (r.name.empty()) {
      s.Report("name", "every rule needs a name");
    }
    r.provider = s.String("provider", "");
    r.klass = s.String("class", "");
    if (!bounce::ValidClass(r.klass)) {
      s.Report("class",
               "must be one of bad-mailbox, bad-domain, inactive-mailbox, quota, "
               "policy, spam-block, spam-content, virus, authentication, routing, "
               "protocol, message-expired, no-answer, relaying-denied, reputation, other");
    }
    if (s.Has("hard")) {
      r.hard = s.Bool("hard", false);
    }
    for (auto code : s.IntList("codes", 200, 599)) {
      r.codes.push_back(static_cast<int>(code));
    }
    r.enhanced = s.StringList("enhanced");
    r.text = s.String("text", "");
    r.ignore_case = !s.Bool("case_sensitive", false);
    r.example = s.String("example", "");
    rules.push_back(std::move(r));
  }
  if (!doc.errors().empty()) {
    return Fail(doc.errors().ToString());
  }
  auto made = bounce::Classifier::Create(std::move(rules));
  if (!made) {
    return Fail(doc.source() + ": " + made.error());
  }
  return std::move(made).value();
}

}  // namespace

Result<std::shared_ptr<const bounce::Classifier>, std::string> ParseBounceRules(
    std::string_view text, const std::string& source) {
  auto doc = config::Document::Parse(text, source);
  if (!doc->errors().empty()) {
    return Fail(doc->errors().ToString());
  }
  return Bind(*doc);
}

Result<std::shared_ptr<const bounce::Classifier>, std::string> LoadBounceRules(
    const std::string& path) {
  if (path.empty()) {
    return ParseBounceRules(kDefaultBounceRules, "(built-in bounce rules)");
  }
  auto doc = config::Document::LoadFile(path);
  if (!doc->errors().empty()) {
    return Fail(doc->errors().ToString());
  }
  return Bind(*doc);
}

}  // namespace sluice::app
