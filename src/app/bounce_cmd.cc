#include "app/bounce_cmd.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "app/bounce_rules.h"
#include "bounce/report.h"
#include "core/utf8.h"

namespace sluice::app {
namespace {

int Usage() {
  std::fputs(
      "usage: sluice [--config FILE] bounce classify \"550 5.1.1 reply text\"\n"
      "       sluice bounce check FILE\n"
      "       sluice bounce parse FILE...   (what each message reports; a JSON line each)\n",
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

std::string ReportJson(const std::string& file, const bounce::ParsedReport& r) {
  namespace json = boost::json;
  json::array rcpts;
  for (const auto& s : r.recipients) {
    rcpts.push_back(json::object{{"final_recipient", s.final_recipient},
                                 {"original_recipient", s.original_recipient},
                                 {"action", s.action},
                                 {"status", s.status},
                                 {"diagnostic", s.diagnostic},
                                 {"remote_mta", s.remote_mta}});
  }
  return ToValidUtf8(json::serialize(json::object{{"file", file},
                                                  {"kind", bounce::ToString(r.kind)},
                                                  {"from_text", r.from_text},
                                                  {"reporting_mta", r.reporting_mta},
                                                  {"recipients", std::move(rcpts)},
                                                  {"original_message_id", r.original_message_id},
                                                  {"feedback_type", r.feedback_type},
                                                  {"original_rcpt_to", r.original_rcpt_to},
                                                  {"original_mail_from", r.original_mail_from}}));
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
  if (args.size() >= 2 && args[0] == "parse") {
    int rc = 0;
    for (std::size_t i = 1; i < args.size(); ++i) {
      std::ifstream in(args[i], std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "sluice: cannot read %s\n", args[i].c_str());
        rc = 1;
        continue;
      }
      std::stringstream text;
      text << in.rdbuf();
      std::printf("%s\n", ReportJson(args[i], bounce::ParseReport(text.str())).c_str());
    }
    return rc;
  }
  if (args.size() == 2 && args[0] == "classify") {
    const auto& c = st.bounce_classifier;  // loaded (and checked) with the settings
    if (!c) {
      return 1;
    }
    auto parts = bounce::SplitReply(args[1]);
    if (!parts) {
      std::fputs("sluice: a reply starts with its three-digit code: \"550 5.1.1 ...\"\n", stderr);
      return 2;
    }
    auto v = c->Classify(parts->code, parts->enhanced, parts->text);
    std::printf("class    %s\nbounce   %s\nrule     %s\nprovider %s\n", v.klass.c_str(),
                v.hard ? "hard" : "soft", v.rule.empty() ? "(none)" : v.rule.c_str(),
                v.provider.empty() ? "-" : v.provider.c_str());
    return 0;
  }
  return Usage();
}

}  // namespace sluice::app
