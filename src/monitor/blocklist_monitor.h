#pragma once
// Security: asks third-party lists about our own addresses and domains, at
//           most once per list's min_interval (their usage terms), one query
//           at a time; their TXT reasons are shown, not interpreted.
// Standards: RFC 5782 (DNSBL queries and answers).
//
// Checks every egress source address against the IP blocklists and every
// sending domain (with its parent domains: the lists name registered
// domains) against the domain lists, at start and then every
// `interval`. A listing or a delisting is a BlocklistChanged record; on a
// list that takes sources out of their pools, a listed source leaves them
// (through `on_source`, with an Automation record) until no such list
// lists it. A query that fails, or that the list refuses (its error
// codes), changes nothing: the last state is kept.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "core/clock.h"
#include "dns/resolver.h"
#include "events/events.h"
#include "monitor/dnsbl.h"
#include "monitor/periodic.h"

namespace sluice::monitor {

struct BlocklistOptions {
  bool enabled = true;
  std::chrono::seconds interval = std::chrono::hours(1);
  std::vector<Blocklist> lists;  // the built-ins by default (app/settings_monitor.cc)
};

// One subject on one list.
struct Listing {
  std::string list;
  std::string zone;
  ListKind kind = ListKind::kIp;
  std::string subject;
  enum class Status { kUnknown, kClear, kListed } status = Status::kUnknown;
  std::vector<std::string> codes;
  std::string meaning;
  std::string reason;                             // the TXT record
  std::string error;                              // the last query's failure ("" it answered)
  std::chrono::system_clock::time_point since;    // of the status
  std::chrono::system_clock::time_point checked;  // the last query
};
const char* ToString(Listing::Status s);  // "unknown", "clear", "listed"

class BlocklistMonitor {
 public:
  // Takes a source address out of its pools (true) or puts it back; returns
  // whether that changed anything. Called on the monitor's context.
  using OnSource = std::function<bool(const std::string& address, bool out)>;
  BlocklistMonitor(boost::asio::io_context& ctx, dns::Resolver& resolver,
                   std::vector<Blocklist> lists, std::vector<std::string> addresses,
                   std::vector<std::string> domains, std::chrono::seconds interval,
                   events::Bus& bus, const Clock& clock, OnSource on_source);

  void Start();
  void Stop();
  // One pass over every list and subject that is due (tests; the loop).
  static boost::asio::awaitable<void> RunOnce(BlocklistMonitor* self);

  std::vector<Listing> Snapshot() const;
  // GET /api/v1/health/blocklists: {"lists": [{"name", "zone", "kind"}],
  //   "listings": [{"list", "subject", "kind", "status", "codes", "meaning",
  //   "reason", "error", "since", "checked_at"}], "out_of_pools": [addresses]}
  std::string Json() const;

 private:
  static boost::asio::awaitable<void> Check(BlocklistMonitor* self, const Blocklist& list,
                                            std::string subject);
  // A query that told nothing: the error is kept, the state stays.
  void NoAnswer(const Blocklist& list, const std::string& subject, std::string error);
  void Apply(const Blocklist& list, const std::string& subject, Listing::Status status,
             std::vector<std::string> codes, std::string meaning, std::string reason);

  dns::Resolver& resolver_;
  std::vector<Blocklist> lists_;
  std::vector<std::string> addresses_;
  std::vector<std::string> domains_;
  events::Bus& bus_;
  const Clock& clock_;
  OnSource on_source_;
  Periodic periodic_;
  std::map<std::string, Clock::Steady::time_point> asked_;  // list -> last pass
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Listing> listings_;  // (list, subject)
  std::set<std::string> out_;                                        // addresses out of their pools
};

}  // namespace sluice::monitor
