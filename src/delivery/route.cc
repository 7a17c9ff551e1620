#include "delivery/route.h"

#include <algorithm>

namespace sluice::delivery {

std::optional<RouteHost> ParseRouteHost(std::string_view text) {
  RouteHost h;
  std::string_view port;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    h.host = std::string(text.substr(0, close + 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return std::nullopt;
      }
      port = rest.substr(1);
      has_port = true;
    }
  } else {
    auto colon = text.find(':');
    h.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = text.substr(colon + 1);
      has_port = true;
    }
  }
  if (h.host.empty() || h.host == "[]" || (has_port && port.empty())) {
    return std::nullopt;
  }
  if (has_port) {
    unsigned v = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || (v = v * 10 + static_cast<unsigned>(c - '0')) > 65535) {
        return std::nullopt;
      }
    }
    if (v == 0) {
      return std::nullopt;
    }
    h.port = static_cast<std::uint16_t>(v);
  }
  return h;
}

smtp::Reply DnsReply(dns::DnsError e, const std::string& domain) {
  std::string text = domain + ": " + dns::ToString(e);
  switch (e) {
    case dns::DnsError::kNullMx:
      return {556, "5.1.10", text};  // RFC 7505 §4.2
    case dns::DnsError::kNxDomain:
    case dns::DnsError::kNoMailHost:
    case dns::DnsError::kBadName:
      return {550, "5.1.2", text};
    default:
      return {451, "4.4.3", text};
  }
}

const Route* RouteTable::Find(std::uint32_t domain, Clock::Steady::time_point now) {
  auto it = routes_.find(domain);
  if (it == routes_.end() || it->second.expires <= now) {
    return nullptr;
  }
  it->second.used = now;
  return &it->second;
}

Route& RouteTable::Set(std::uint32_t domain, Route route) {
  Route& slot = routes_[domain];
  slot = std::move(route);
  return slot;
}

bool RouteTable::Wait(std::uint32_t domain, const queue::WorkItem& w) {
  auto [it, first] = waiting_.try_emplace(domain);
  it->second.push_back(w);
  return first;
}

std::vector<queue::WorkItem> RouteTable::TakeWaiting(std::uint32_t domain, std::size_t max) {
  std::vector<queue::WorkItem> out;
  auto it = waiting_.find(domain);
  if (it == waiting_.end()) {
    return out;
  }
  auto& items = it->second;
  if (items.size() <= max) {
    out = std::move(items);
    waiting_.erase(it);  // a Wait() from now on belongs to a new lookup
    return out;
  }
  out.assign(items.end() - static_cast<std::ptrdiff_t>(max), items.end());
  items.resize(items.size() - max);
  return out;
}

std::size_t RouteTable::DropUnused(Clock::Steady::time_point before) {
  return std::erase_if(routes_, [before](const auto& r) { return r.second.used < before; });
}

void RouteTable::ForEachWaiting(const std::function<void(const queue::WorkItem&)>& fn) const {
  for (const auto& [d, items] : waiting_) {
    std::for_each(items.begin(), items.end(), fn);
  }
}

void RouteTable::TakeWaiting(const std::function<bool(const queue::WorkItem&)>& match,
                             std::vector<queue::WorkItem>& out) {
  // Emptied entries stay until their lookup ends.
  for (auto& [d, items] : waiting_) {
    std::erase_if(items, [&](const queue::WorkItem& w) {
      if (!match(w)) {
        return false;
      }
      out.push_back(w);
      return true;
    });
  }
}

}  // namespace sluice::delivery
