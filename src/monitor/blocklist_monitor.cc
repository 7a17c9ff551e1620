#include "monitor/blocklist_monitor.h"

#include <algorithm>
#include <optional>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "core/time_format.h"
#include "core/utf8.h"

namespace sluice::monitor {

namespace asio = boost::asio;
namespace json = boost::json;

const char* ToString(Listing::Status s) {
  switch (s) {
    case Listing::Status::kClear:
      return "clear";
    case Listing::Status::kListed:
      return "listed";
    case Listing::Status::kUnknown:
      break;
  }
  return "unknown";
}

BlocklistMonitor::BlocklistMonitor(asio::io_context& ctx, dns::Resolver& resolver,
                                   std::vector<Blocklist> lists, std::vector<std::string> addresses,
                                   std::vector<std::string> domains, std::chrono::seconds interval,
                                   events::Bus& bus, const Clock& clock, OnSource on_source)
    : resolver_(resolver),
      lists_(std::move(lists)),
      addresses_(std::move(addresses)),
      domains_(std::move(domains)),
      bus_(bus),
      clock_(clock),
      on_source_(std::move(on_source)),
      periodic_(ctx, interval, "blocklist checks") {}

asio::awaitable<void> BlocklistMonitor::RunOnce(BlocklistMonitor* self) {
  for (const auto& list : self->lists_) {
    const auto now = self->clock_.SteadyNow();
    auto last = self->asked_.find(list.name);
    if (last != self->asked_.end() && now - last->second < list.min_interval) {
      continue;  // the list's own rules: not this often
    }
    self->asked_[list.name] = now;
    const auto& subjects = list.kind == ListKind::kIp ? self->addresses_ : self->domains_;
    for (const auto& subject : subjects) {
      if (self->periodic_.stopped()) {
        co_return;
      }
      if (list.kind == ListKind::kIp && list.public_addresses_only && !IsPublicAddress(subject)) {
        continue;  // a public list knows nothing of private addresses
      }
      co_await Check(self, list, subject);
    }
  }
}

void BlocklistMonitor::NoAnswer(const Blocklist& list, const std::string& subject,
                                std::string error) {
  std::lock_guard lock(mu_);
  auto& l = listings_[{list.name, subject}];
  l.list = list.name;
  l.zone = list.zone;
  l.kind = list.kind;
  l.subject = subject;
  l.error = std::move(error);
  l.checked = clock_.Now();
}

asio::awaitable<void> BlocklistMonitor::Check(BlocklistMonitor* self, const Blocklist& list,
                                              std::string subject) {
  // Domain lists list registered domains: a subdomain is looked up with its
  // parents too (down to two labels), the first listing found counting.
  std::vector<std::string> names;
  for (std::string d = subject;;) {
    names.push_back(d);
    const auto dot = d.find('.');
    if (list.kind != ListKind::kDomain || dot == std::string::npos ||
        d.find('.', dot + 1) == std::string::npos) {
      break;
    }
    d = d.substr(dot + 1);
  }
  Verdict v;
  std::string listed_as;
  std::string query;
  for (const auto& n : names) {
    auto name = QueryName(list, n);
    if (!name) {
      co_return;
    }
    auto answer = co_await self->resolver_.ResolveAddresses(*name);
    std::vector<std::string> v4;
    if (answer) {
      std::copy_if(answer->begin(), answer->end(), std::back_inserter(v4),
                   [](const std::string& a) { return a.find(':') == std::string::npos; });
    } else if (!dns::IsPermanent(answer.error())) {
      self->NoAnswer(
          list, subject,
          std::string("lookup of ") + *name + " failed: " + dns::ToString(answer.error()));
      co_return;
    }
    v = Decode(list, v4);
    if (v.state == Verdict::State::kError) {
      spdlog::warn("blocklist {}: {} for {}; keeping the last state", list.name, v.meaning, n);
      self->NoAnswer(list, subject, v.meaning);
      co_return;
    }
    if (v.state == Verdict::State::kListed) {
      listed_as = n;
      query = *name;
      break;
    }
  }
  std::string reason;
  if (v.state == Verdict::State::kListed) {
    // RFC 5782 §2.1: a TXT record at the same name says why.
    if (auto txt = co_await self->resolver_.ResolveTxt(query)) {
      for (const auto& t : txt.value()) {
        reason += (reason.empty() ? "" : "; ") + ToValidUtf8(t.substr(0, 500));
      }
    }
    if (listed_as != subject) {
      v.meaning = "as " + listed_as + ": " + v.meaning;
    }
  }
  self->Apply(
      list, subject,
      v.state == Verdict::State::kListed ? Listing::Status::kListed : Listing::Status::kClear,
      std::move(v.codes), std::move(v.meaning), std::move(reason));
}

void BlocklistMonitor::Apply(const Blocklist& list, const std::string& subject,
                             Listing::Status status, std::vector<std::string> codes,
                             std::string meaning, std::string reason) {
  const auto now = clock_.Now();
  std::optional<events::BlocklistChanged> change;
  bool should_be_out = false;
  bool was_out = false;
  {
    std::lock_guard lock(mu_);
    auto& l = listings_[{list.name, subject}];
    const auto prior = l.status;
    l.list = list.name;
    l.zone = list.zone;
    l.kind = list.kind;
    l.subject = subject;
    l.error.clear();
    l.checked = now;
    l.codes = std::move(codes);
    l.meaning = std::move(meaning);
    l.reason = std::move(reason);
    if (status != prior) {
      l.status = status;
      l.since = now;
      if (prior != Listing::Status::kUnknown || status == Listing::Status::kListed) {
        change = events::BlocklistChanged{.list = list.name,
                                          .zone = list.zone,
                                          .kind = ToString(list.kind),
                                          .subject = subject,
                                          .listed = status == Listing::Status::kListed,
                                          .codes = l.codes,
                                          .meaning = l.meaning,
                                          .reason = l.reason,
                                          .out_of_pools = false,
                                          .timestamp = now};
      }
    }
    if (list.kind == ListKind::kIp) {
      // Out while any list that takes sources out lists it.
      for (const auto& other : lists_) {
        auto it = listings_.find({other.name, subject});
        should_be_out |= other.take_out_of_pools && it != listings_.end() &&
                         it->second.status == Listing::Status::kListed;
      }
      was_out = out_.count(subject) != 0;
    }
  }
  // The pools first, so the record says what was done; records are
  // published unlocked (the event log and webhooks take their time).
  bool moved = false;
  if (should_be_out != was_out && on_source_ && on_source_(subject, should_be_out)) {
    moved = true;
    std::lock_guard lock(mu_);
    if (should_be_out) {
      out_.insert(subject);
    } else {
      out_.erase(subject);
    }
  }
  const bool out_now = moved ? should_be_out : was_out;
  if (change) {
    change->out_of_pools = out_now;
    if (change->listed) {
      spdlog::warn("blocklist {} lists {}: {}", list.name, subject, change->meaning);
    } else {
      spdlog::info("blocklist {} no longer lists {}", list.name, subject);
    }
    bus_.Publish(*change);
  }
  if (moved) {
    events::Automation a;
    a.rule = "blocklist " + list.name;
    a.action = should_be_out ? "take source out of pools" : "put source back in pools";
    a.egress_source = subject;
    a.text = list.name + (status == Listing::Status::kListed ? " lists " : " no longer lists ") +
             subject;
    a.timestamp = now;
    bus_.Publish(a);
  }
}

void BlocklistMonitor::Start() {
  if (!lists_.empty() && !(addresses_.empty() && domains_.empty())) {
    periodic_.Start([this] { return RunOnce(this); });
  }
}

void BlocklistMonitor::Stop() {
  periodic_.Stop();
}

std::vector<Listing> BlocklistMonitor::Snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<Listing> out;
  out.reserve(listings_.size());
  for (const auto& [key, l] : listings_) {
    out.push_back(l);
  }
  return out;
}

std::string BlocklistMonitor::Json() const {
  json::array lists;
  for (const auto& l : lists_) {
    lists.push_back(json::object{{"name", l.name},
                                 {"zone", l.zone},
                                 {"kind", ToString(l.kind)},
                                 {"take_out_of_pools", l.take_out_of_pools}});
  }
  json::array listings;
  json::array out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, l] : listings_) {
      json::array codes;
      for (const auto& c : l.codes) {
        codes.emplace_back(c);
      }
      auto when = [](std::chrono::system_clock::time_point t) {
        return t == std::chrono::system_clock::time_point{} ? json::value(nullptr)
                                                            : json::value(Rfc3339Micros(t));
      };
      listings.push_back(json::object{{"list", l.list},
                                      {"zone", l.zone},
                                      {"kind", ToString(l.kind)},
                                      {"subject", l.subject},
                                      {"status", ToString(l.status)},
                                      {"codes", std::move(codes)},
                                      {"meaning", l.meaning},
                                      {"reason", l.reason},
                                      {"error", l.error},
                                      {"since", when(l.since)},
                                      {"checked_at", when(l.checked)}});
    }
    for (const auto& a : out_) {
      out.emplace_back(a);
    }
  }
  return json::serialize(json::object{{"lists", std::move(lists)},
                                      {"listings", std::move(listings)},
                                      {"out_of_pools", std::move(out)}});
}

}  // namespace sluice::monitor
