#pragma once
// Security: keeps event records (addresses, reply texts) in memory only;
//           read back per tenant by the API.
//
// The latest failures and feedback, for the dashboard: the last `keep`
// bounces (synchronous and asynchronous), complaints and unsubscribes as
// their event records, and the replies bounces came with, counted by tenant,
// class and text (addresses in the text made "<address>"), up to
// `max_replies` distinct ones since start (later new ones are not counted).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "events/events.h"

namespace sluice::stats {

enum class RecentKind { kBounce, kComplaint, kUnsubscribe };
std::optional<RecentKind> RecentKindByName(std::string_view name);

class Recent final : public events::Observer {
 public:
  explicit Recent(std::size_t keep = 200, std::size_t max_replies = 2000)
      : keep_(keep), max_replies_(max_replies) {}
  void OnOutcome(const events::Outcome& e) override;
  void OnFeedback(const events::Feedback& e) override;

  // The latest records of a kind, newest first; `tenant` set: its only.
  std::vector<std::string> Records(RecentKind kind, const std::optional<std::string>& tenant,
                                   std::size_t limit) const;
  struct Reply {
    std::string tenant;
    std::string klass;
    std::string text;  // "550 5.1.1 <address>: user unknown"
    std::uint64_t count = 0;
  };
  // The most frequent bounce replies, most first.
  std::vector<Reply> TopReplies(const std::optional<std::string>& tenant, std::size_t limit) const;

 private:
  struct Record {
    std::string tenant;
    std::string json;
  };
  void Keep(RecentKind kind, std::string tenant, std::string json);
  void CountReply(const std::string& tenant, const std::string& klass, std::string text);

  std::size_t keep_;
  std::size_t max_replies_;
  mutable std::mutex mu_;
  std::deque<Record> records_[3];
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> replies_;
};

// "550 5.1.1 <a@b.example>: no" -> "550 5.1.1 <address>: no" (and bare
// addresses), cut to 200 octets: replies that differ by recipient only count
// as one.
std::string NormalizeReply(std::string_view text);

}  // namespace sluice::stats
