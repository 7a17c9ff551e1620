#include "bounce/classify.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>
#include <re2/re2.h>
#include <re2/set.h>

namespace sluice::bounce {

struct Classifier::Patterns {
  Patterns(const RE2::Options& ci, const RE2::Options& cs)
      : insensitive(ci, RE2::UNANCHORED), sensitive(cs, RE2::UNANCHORED) {}
  // One pass over a reply's text per set; each entry is a rule's index.
  RE2::Set insensitive;
  RE2::Set sensitive;
  std::vector<std::size_t> insensitive_rules;
  std::vector<std::size_t> sensitive_rules;
};

namespace {

bool IsEnhanced(std::string_view s) {
  // class "." subject "." detail, RFC 3463 §2: 2|4|5 . 1-3 digits . 1-3 digits
  int dots = 0;
  std::size_t run = 0;
  for (char c : s) {
    if (c == '.') {
      if (run == 0 || run > 3) {
        return false;
      }
      ++dots;
      run = 0;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      ++run;
    } else {
      return false;
    }
  }
  return dots == 2 && run > 0 && run <= 3 && (s[0] == '2' || s[0] == '4' || s[0] == '5') &&
         s[1] == '.';
}

std::vector<std::string_view> Parts(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    auto dot = s.find('.');
    out.push_back(s.substr(0, dot));
    if (dot == std::string_view::npos) {
      return out;
    }
    s.remove_prefix(dot + 1);
  }
}

// "5.7" matches 5.7.x; "x.2.2" matches 4.2.2 and 5.2.2; "5.1.1" only itself.
bool EnhancedMatches(std::string_view pattern, std::string_view code) {
  if (code.empty()) {
    return false;
  }
  const auto p = Parts(pattern);
  const auto c = Parts(code);
  if (p.size() > c.size()) {
    return false;
  }
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (!(p[i] == c[i] || (i == 0 && (p[i] == "x" || p[i] == "X")))) {
      return false;
    }
  }
  return true;
}

bool ValidEnhancedPattern(std::string_view pattern) {
  const auto p = Parts(pattern);
  if (p.empty() || p.size() > 3) {
    return false;
  }
  for (std::size_t i = 0; i < p.size(); ++i) {
    const auto& part = p[i];
    if (i == 0 && (part == "x" || part == "X" || part == "2" || part == "4" || part == "5")) {
      continue;
    }
    if (i == 0 || part.empty() || part.size() > 3 ||
        !std::all_of(part.begin(), part.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool ValidClass(std::string_view name) {
  return std::find(std::begin(kClasses), std::end(kClasses), name) != std::end(kClasses);
}

bool HardByDefault(std::string_view klass, int code) {
  return code >= 500 && code < 600 &&
         (klass == "bad-mailbox" || klass == "bad-domain" || klass == "inactive-mailbox");
}

std::optional<ReplyParts> SplitReply(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) {
    line.remove_suffix(1);
  }
  if (line.size() < 3 || !std::all_of(line.begin(), line.begin() + 3, [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    return std::nullopt;
  }
  ReplyParts r;
  r.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  line.remove_prefix(3);
  if (!line.empty() && (line[0] == ' ' || line[0] == '-')) {
    line.remove_prefix(1);
  }
  auto space = line.find(' ');
  std::string_view first = line.substr(0, space);
  if (IsEnhanced(first)) {
    r.enhanced = std::string(first);
    line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  }
  r.text = std::string(line);
  return r;
}

Classifier::Classifier() = default;
Classifier::~Classifier() = default;

Result<std::shared_ptr<const Classifier>, std::string> Classifier::Create(std::vector<Rule> rules) {
  RE2::Options ci;
  ci.set_case_sensitive(false);
  ci.set_log_errors(false);
  RE2::Options cs;
  cs.set_log_errors(false);
  std::shared_ptr<Classifier> c(new Classifier());
  c->patterns_ = std::make_unique<Patterns>(ci, cs);
  std::set<std::string> names;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const Rule& r = rules[i];
    const std::string where = fmt::format("bounce rule \"{}\"", r.name);
    if (r.name.empty() || !names.insert(r.name).second) {
      return Fail(r.name.empty() ? std::string("a bounce rule has no name")
                                 : where + ": the name is used twice");
    }
    if (!ValidClass(r.klass)) {
      return Fail(where + ": unknown class \"" + r.klass + "\"");
    }
    for (int code : r.codes) {
      if (code < 200 || code > 599) {
        return Fail(fmt::format("{}: {} is not a reply code", where, code));
      }
    }
    for (const auto& e : r.enhanced) {
      if (!ValidEnhancedPattern(e)) {
        return Fail(where + ": \"" + e + "\" is not an enhanced code such as 5.1.1, 5.7 or x.2.2");
      }
    }
    if (!r.text.empty()) {
      std::string error;
      auto& set = r.ignore_case ? c->patterns_->insensitive : c->patterns_->sensitive;
      if (set.Add(r.text, &error) < 0) {
        return Fail(where + ": text pattern: " + error);
      }
      (r.ignore_case ? c->patterns_->insensitive_rules : c->patterns_->sensitive_rules).push_back(i);
    }
  }
  if (!c->patterns_->insensitive.Compile() || !c->patterns_->sensitive.Compile()) {
    return Fail(std::string("bounce rules: the patterns need more memory than RE2 allows"));
  }
  c->rules_ = std::move(rules);
  return std::shared_ptr<const Classifier>(std::move(c));
}

Verdict Classifier::Classify(int code, std::string_view enhanced, std::string_view text) const {
  // Which rules' text patterns match, in one pass per set.
  std::vector<bool> text_ok(rules_.size(), false);
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    text_ok[i] = rules_[i].text.empty();
  }
  const re2::StringPiece piece(text.data(), text.size());
  std::vector<int> hits;
  if (!patterns_->insensitive_rules.empty() && patterns_->insensitive.Match(piece, &hits)) {
    for (int h : hits) {
      text_ok[patterns_->insensitive_rules[static_cast<std::size_t>(h)]] = true;
    }
  }
  hits.clear();
  if (!patterns_->sensitive_rules.empty() && patterns_->sensitive.Match(piece, &hits)) {
    for (int h : hits) {
      text_ok[patterns_->sensitive_rules[static_cast<std::size_t>(h)]] = true;
    }
  }
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const Rule& r = rules_[i];
    if (!text_ok[i]) {
      continue;
    }
    if (!r.codes.empty() && std::find(r.codes.begin(), r.codes.end(), code) == r.codes.end()) {
      continue;
    }
    if (!r.enhanced.empty() &&
        std::none_of(r.enhanced.begin(), r.enhanced.end(),
                     [&](const std::string& e) { return EnhancedMatches(e, enhanced); })) {
      continue;
    }
    return Verdict{r.klass, r.hard.value_or(HardByDefault(r.klass, code)), r.name, r.provider};
  }
  return Verdict{"other", false, "", ""};
}

}  // namespace sluice::bounce
