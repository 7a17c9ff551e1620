#include "app/bounce_cmd.h"

#include <cstdio>

#include "app/bounce_rules.h"

namespace sluice::app {
namespace {

int Usage() {
  std::fputs(
      "usage: sluice [--config FILE] bounce classify \"550 5.1.1 reply text\"\n"
      "       sluice bounce check FILE\n",
      stderr);
  return 2;
}

// Rules whose own example takes another rule (or none): one line each.
std::string ExampleMisfits(const bounce::Classifier& c) {
  std::string out;
  for (const auto& r : c.rules()) {
    if (r.example.empty()) {
      continue;
    }
    auto parts = bounce::SplitReply(r.example);
    if (!parts) {
      out += "rule " + r.name + ": the example is not a reply (\"550 ...\")\n";
      continue;
    }
    auto v = c.Classify(parts->code, parts->enhanced, parts->text);
    if (v.rule != r.name) {
      out += "rule " + r.name + ": its example is taken by " +
             (v.rule.empty() ? std::string("no rule") : "rule " + v.rule) + "\n";
    }
  }
  return out;
}

}  // namespace

int BounceCommand(const Settings& st, const std::vector<std::string>& args) {
  if (args.size() == 2 && args[0] == "check") {
    auto c = LoadBounceRules(args[1]);
    if (!c) {
      std::fputs(c.error().c_str(), stderr);
      std::fputs("\n", stderr);
      return 1;
    }
    std::string misfits = ExampleMisfits(**c);
    if (!misfits.empty()) {
      std::fputs(misfits.c_str(), stderr);
      return 1;
    }
    std::printf("%s: ok (%zu rules)\n", args[1].c_str(), (*c)->rules().size());
    return 0;
  }
  if (args.size() == 2 && args[0] == "classify") {
    auto c = LoadBounceRules(st.bounce_rules);
    if (!c) {
      std::fprintf(stderr, "%s\n", c.error().c_str());
      return 1;
    }
    auto parts = bounce::SplitReply(args[1]);
    if (!parts) {
      std::fputs("sluice: a reply starts with its three-digit code: \"550 5.1.1 ...\"\n", stderr);
      return 2;
    }
    auto v = (*c)->Classify(parts->code, parts->enhanced, parts->text);
    std::printf("class    %s\nbounce   %s\nrule     %s\nprovider %s\n", v.klass.c_str(),
                v.hard ? "hard" : "soft", v.rule.empty() ? "(none)" : v.rule.c_str(),
                v.provider.empty() ? "-" : v.provider.c_str());
    return 0;
  }
  return Usage();
}

}  // namespace sluice::app
