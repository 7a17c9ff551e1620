#include "stats/recent.h"

#include <algorithm>

#include <fmt/format.h>

namespace sluice::stats {
namespace {

constexpr std::size_t kReplyBytes = 200;

bool AddressChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) != std::string_view::npos;
}

}  // namespace

std::optional<RecentKind> RecentKindByName(std::string_view name) {
  if (name == "bounce") {
    return RecentKind::kBounce;
  }
  if (name == "complaint") {
    return RecentKind::kComplaint;
  }
  if (name == "unsubscribe") {
    return RecentKind::kUnsubscribe;
  }
  return std::nullopt;
}

std::string NormalizeReply(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size() && out.size() < kReplyBytes) {
    if (text[i] == '@') {
      // Back over the local part already copied, then skip the domain.
      while (!out.empty() && AddressChar(out.back())) {
        out.pop_back();
      }
      ++i;
      while (i < text.size() && (AddressChar(text[i]) || text[i] == '[' || text[i] == ']')) {
        ++i;
      }
      out += "address";
      continue;
    }
    out.push_back(text[i] == '\r' || text[i] == '\n' ? ' ' : text[i]);
    ++i;
  }
  if (i < text.size()) {
    // Cut short: not inside a UTF-8 sequence.
    std::size_t lead = out.size();
    while (lead > 0 && (static_cast<unsigned char>(out[lead - 1]) & 0xC0) == 0x80) {
      --lead;
    }
    if (lead > 0 && static_cast<unsigned char>(out[lead - 1]) >= 0xC0) {
      const auto b = static_cast<unsigned char>(out[lead - 1]);
      const std::size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
      if (out.size() - (lead - 1) < need) {
        out.resize(lead - 1);
      }
    }
  }
  return out;
}

void Recent::Keep(RecentKind kind, std::string tenant, std::string json) {
  auto& q = records_[static_cast<std::size_t>(kind)];
  q.push_front({std::move(tenant), std::move(json)});
  if (q.size() > keep_) {
    q.pop_back();
  }
}

void Recent::CountReply(const std::string& tenant, const std::string& klass, std::string text) {
  auto key = std::make_tuple(tenant, klass, NormalizeReply(text));
  auto it = replies_.find(key);
  if (it != replies_.end()) {
    ++it->second;
  } else if (replies_.size() < max_replies_) {
    replies_.emplace(std::move(key), 1);
  }
}

void Recent::OnOutcome(const events::Outcome& e) {
  if (e.type != events::OutcomeType::kBounce) {
    return;
  }
  auto json = events::ToJson(e);
  const std::string reply =
      e.code == 0
          ? e.text
          : fmt::format("{}{}{} {}", e.code, e.enhanced.empty() ? "" : " ", e.enhanced, e.text);
  std::lock_guard lock(mu_);
  Keep(RecentKind::kBounce, e.tenant, std::move(json));
  CountReply(e.tenant, e.bounce_class, reply);
}

void Recent::OnFeedback(const events::Feedback& e) {
  auto json = events::ToJson(e);
  std::lock_guard lock(mu_);
  switch (e.type) {
    case events::FeedbackType::kAsyncBounce:
      Keep(RecentKind::kBounce, e.tenant, std::move(json));
      CountReply(e.tenant, e.bounce_class,
                 e.status + (e.diagnostic.empty() ? "" : " " + e.diagnostic));
      break;
    case events::FeedbackType::kComplaint:
      Keep(RecentKind::kComplaint, e.tenant, std::move(json));
      break;
    case events::FeedbackType::kUnsubscribe:
      Keep(RecentKind::kUnsubscribe, e.tenant, std::move(json));
      break;
  }
}

std::vector<std::string> Recent::Records(RecentKind kind, const std::optional<std::string>& tenant,
                                         std::size_t limit) const {
  std::vector<std::string> out;
  std::lock_guard lock(mu_);
  for (const auto& r : records_[static_cast<std::size_t>(kind)]) {
    if (out.size() >= limit) {
      break;
    }
    if (!tenant || r.tenant == *tenant) {
      out.push_back(r.json);
    }
  }
  return out;
}

std::vector<Recent::Reply> Recent::TopReplies(const std::optional<std::string>& tenant,
                                              std::size_t limit) const {
  std::vector<Reply> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, n] : replies_) {
      if (!tenant || std::get<0>(key) == *tenant) {
        out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), n});
      }
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Reply& a, const Reply& b) { return a.count > b.count; });
  if (out.size() > limit) {
    out.resize(limit);
  }
  return out;
}

}  // namespace sluice::stats
