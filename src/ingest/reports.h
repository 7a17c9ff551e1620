#pragma once
// Security: reports go only where RFC 3461 allows (never to the null sender),
//           from the null sender, so they cannot loop.
// Standards: RFC 3464 (report format), RFC 3461 §6.2 and RFC 5321 §4.5.5
//            (reports are sent with an empty return path).
//
// Reports to senders (failure, delay, relay) as new messages: built by
// bounce/ and taken in through the same funnel as any other mail, so each
// gets a Reception event, a DKIM signature for the reporting domain (if it
// has a key) and the same durability. The queue manager asks for them
// (queue::ReportSink); they are built and submitted on the given executor,
// never on the delivery thread.

#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "core/clock.h"
#include "ingest/ingest.h"
#include "queue/manager.h"
#include "spool/spool.h"

namespace sluice::ingest {

class Reports final : public queue::ReportSink {
 public:
  // `reporting_mta`: our host name (the report's From domain and Reporting-MTA).
  // `owner`: where `original_read` callbacks run (the queue manager's thread).
  Reports(Ingest& ingest, spool::Spool& spool, boost::asio::any_io_executor ex,
          boost::asio::any_io_executor owner, std::string reporting_mta,
          const Clock& clock = Clock::System());

  void Report(const spool::Meta& original, bounce::ReportAction action,
              std::vector<bounce::ReportedRecipient> recipients,
              std::function<void()> original_read) override;

 private:
  Ingest& ingest_;
  spool::Spool& spool_;
  boost::asio::any_io_executor ex_;
  boost::asio::any_io_executor owner_;
  std::string reporting_mta_;
  const Clock& clock_;
};

// Takes a report of our own (an RFC 8460 TLS report) in through the same
// funnel, from the null sender to `rcpts` (addresses that parse), on `ex`.
// Returns an error, or empty once the message is queued.
boost::asio::awaitable<std::string> SubmitOwnReport(Ingest& ingest, boost::asio::any_io_executor ex,
                                                    std::string hostname,
                                                    std::vector<std::string> rcpts,
                                                    std::string message);

}  // namespace sluice::ingest
