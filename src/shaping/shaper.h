#pragma once
// Security: none (what the receivers' replies do to our sending).
// Standards: RFC 5321 §4.5.4.1 (421: come back later), §5.1 (a host that
//            cannot be reached is tried later, not hammered).
//
// The shaping state of every path, and what acts across paths: takes
// observations (a reply, a failed connection, a success) and answers
// questions (may this path open a connection now? which source has warm-up
// room? is this tenant suspended on this site?). Built in: a 421 halves a
// path's concurrency, which grows back by about one connection per window
// of successes (slow start); failed connections suspend the path for a
// doubling back-off. Reply rules (rules.h) suspend a path, or a tenant or
// campaign on a site, limit a path, or bounce the recipient.
//
// No I/O and no timers: time comes from the injected clock; the caller
// reports what is announced, wakes what is due and writes StateText() to the
// state file. Single-threaded (the delivery thread).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "shaping/egress.h"
#include "shaping/path_state.h"
#include "shaping/warmup.h"

namespace sluice::shaping {

// A reply as the shaping sees it.
struct Reply {
  int code = 0;
  std::string_view enhanced;
  std::string_view text;
};

// The tenant and campaign of the message a reply was about.
struct Group {
  std::string_view tenant;
  std::string_view campaign;
};

// What a reaction did, for the caller to report (an Automation event).
struct Announcement {
  std::string rule;
  std::string action;  // "suspend", "limit", "halve concurrency", "suspend tenant" ...
  Clock::time_point until;
  // A tenant or campaign held on the path's site (whichever source); else the path.
  bool group = false;
  std::string tenant;
  std::string campaign;
};

struct ShaperOptions {
  // Dead-destination back-off: after a failed connection, no new attempt on
  // the path for this long, doubling with each failure in a row up to the
  // maximum. Zero: off.
  std::chrono::milliseconds failure_backoff = std::chrono::seconds(30);
  std::chrono::milliseconds max_failure_backoff = std::chrono::minutes(10);
};

// A tenant or campaign suspension in force (operator view).
struct GroupSuspension {
  std::string scope;  // "tenant" or "campaign"
  std::string tenant;
  std::string campaign;
  std::string site;
  sluice::Clock::Wall::time_point until;
};

class Shaper {
 public:
  Shaper(const sluice::Clock& clock, ShaperOptions opts, std::shared_ptr<Warmup> warmup);

  // Observations. A failure reply on a path (about a message of `group`, if
  // in a transaction; a greeting's or EHLO's is about none); true if a rule
  // says the recipient bounces. `active`: the path's connections now.
  bool OnReply(PathState& path, const Reply& r, std::uint32_t active, const Group* group,
               std::vector<Announcement>& out);
  void OnConnectFailed(PathState& path, std::vector<Announcement>& out);
  void OnConnected(PathState& path);
  // A transaction the receiver accepted (for any recipient).
  void OnSuccess(PathState& path);

  // Applies what was kept of the path over a restart (a reply rule's suspension).
  void Restore(PathState& path) const;
  // When mail of a tenant and campaign may go to `route_site` again, if a
  // rule suspended either there.
  std::optional<Clock::time_point> GroupSuspended(std::string_view tenant,
                                                  std::string_view campaign,
                                                  const std::string& route_site);
  std::vector<GroupSuspension> GroupSuspensions() const;

  // Warm-up: takes one of the day's allowance for `source` to `provider`;
  // false if the day's cap is reached. GiveBack: the receiver did not take it.
  bool TakeWarmup(const std::string& source, const std::string& provider);
  void GiveBackWarmup(const std::string& source, const std::string& provider);
  // When `source` starts its next warm-up day.
  sluice::Clock::Wall::time_point NextWarmupDay(const std::string& source) const;
  bool has_warmup() const { return warmup_ != nullptr; }
  std::vector<Warmup::SourceStatus> WarmupStatus() const;

  // The state kept over restarts: reply rules' suspensions (of paths, and of
  // tenants and campaigns) and warm-up counts, as text; and back.
  bool dirty() const { return dirty_; }
  std::string StateText() const;
  void MarkSaved() { dirty_ = false; }
  // False if some of it could not be read (the rest is taken).
  bool LoadState(const std::string& text);

 private:
  void Suspend(PathState& path, Clock::duration how_long, std::string rule, bool keep,
               std::vector<Announcement>& out);
  void SuspendGroup(const PathState& path, Scope scope, const Group& group,
                    Clock::duration how_long, const std::string& rule,
                    std::vector<Announcement>& out);

  const sluice::Clock& clock_;
  ShaperOptions opts_;
  std::shared_ptr<Warmup> warmup_;
  // Reply rules' path suspensions by path name, kept over restarts.
  std::map<std::string, Clock::time_point> kept_;
  // Tenant and campaign suspensions: "tenant NAME|site" or "campaign NAME:TENANT|site".
  std::map<std::string, Clock::time_point> groups_;
  bool dirty_ = false;
};

}  // namespace sluice::shaping
