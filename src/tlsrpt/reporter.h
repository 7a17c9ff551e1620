#pragma once
// Security: a report goes only where the domain's own "_smtp._tls" record
//           says (mailto: addresses that parse, https: URLs verified against
//           the trust store); each is tried a bounded number of times.
// Standards: RFC 8460 §3 (the record), §5.3 (by mail), §5.4 (HTTPS POST,
//            application/tlsrpt+gzip; any 2xx is success), §4.1 (daily).
//
// Sends the ledger's ended periods: for each domain counted, looks up its
// TLS-RPT record, builds the report once and sends it to every rua (mail
// through the normal queue, DKIM-signed like any of our mail; HTTPS directly),
// keeping what went where so a retry or a restart sends nothing twice. Checks
// every minute whether a period ended; an operator may end the open one early
// (`sluice tls report send`). Runs on the delivery thread, with the ledger.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/clock.h"
#include "dns/resolver.h"
#include "tlsrpt/ledger.h"
#include "tlsrpt/report.h"

namespace boost::asio::ssl {
class context;
}

namespace sluice::tlsrpt {

struct ReporterOptions {
  Organization who;
  std::string from;  // the report mail's From address
  std::chrono::milliseconds check_every{60000};
  std::chrono::milliseconds retry_every{30 * 60000};
  std::uint32_t max_attempts = 8;  // per domain and period
  std::chrono::hours give_up{48};  // after the period's end
  std::chrono::seconds https_timeout{30};
};

struct SendSummary {
  std::size_t sent = 0;       // reports that reached every rua
  std::size_t no_record = 0;  // domains without a (usable) TLS-RPT record
  std::size_t pending = 0;    // reports kept to try again
  std::size_t dropped = 0;    // given up
};

class Reporter {
 public:
  // Submits a message from us to `rcpts`; returns an error, or empty once queued.
  using MailFn = std::function<boost::asio::awaitable<std::string>(std::vector<std::string> rcpts,
                                                                   std::string message)>;
  // `https`: a verifying client context (webhook::MakeClientTls);
  // `state_file` empty: the ledger is kept in memory only.
  Reporter(boost::asio::any_io_executor ex, const Clock& clock, Ledger& ledger,
           dns::Resolver& resolver, MailFn mail, std::shared_ptr<boost::asio::ssl::context> https,
           ReporterOptions opts, std::string state_file);
  ~Reporter();

  // Reads the state file into the ledger; false with `error` if unreadable.
  bool Load(std::string* error);
  void Save();
  void Start();
  void Stop();  // and saves

  // Ends the open period now and starts sending every ended one; returns
  // how many domains' reports that is, or nullopt if a send is running.
  std::optional<std::size_t> SendNow();
  // JSON: the open period's counts per domain (the first 1000 domains), and
  // how many domains' reports wait to be sent.
  std::string Status() const;

 private:
  static boost::asio::awaitable<void> Loop(Reporter* self);
  static boost::asio::awaitable<void> SendAndLog(Reporter* self);
  static boost::asio::awaitable<SendSummary> SendClosed(Reporter* self);
  // Sends one domain's report; true when there is nothing more to do for it.
  static boost::asio::awaitable<bool> SendDomain(Reporter* self, const Period& period,
                                                 const std::string& domain, DomainCounts& counts,
                                                 SendSummary& summary);

  boost::asio::any_io_executor ex_;
  const Clock& clock_;
  Ledger& ledger_;
  dns::Resolver& resolver_;
  MailFn mail_;
  std::shared_ptr<boost::asio::ssl::context> https_;
  ReporterOptions opts_;
  std::string state_file_;
  boost::asio::steady_timer timer_;
  bool busy_ = false;
  bool stopped_ = false;
  Clock::Steady::time_point retry_at_{};
};

}  // namespace sluice::tlsrpt
