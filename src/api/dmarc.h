#pragma once
// Security: operator only: the reports name the servers that send as our
//           domains, ours and others'.
// Standards: RFC 7489 §7.2 (aggregate reports), RFC 9110, RFC 8259.
//
//   GET /api/v1/dmarc[?domain=D][&from=T][&to=T]
// The DMARC aggregate reports received for reporting periods beginning in
// [from, to) (RFC 3339; default the last 30 days), summed per domain, per
// source address (ours: an egress source's) and per reporter
// (dmarc/store.h's Summarize).

#include <set>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/http_server.h"
#include "core/clock.h"
#include "dmarc/store.h"

namespace sluice::api {

class DmarcApi {
 public:
  DmarcApi(dmarc::Store& store, std::set<std::string> own, boost::asio::thread_pool& blocking,
           const Clock& clock)
      : store_(store), own_(std::move(own)), blocking_(blocking), clock_(clock) {}

  boost::asio::awaitable<HttpResponse> Handle(const HttpRequest& req);

 private:
  dmarc::Store& store_;
  std::set<std::string> own_;
  boost::asio::thread_pool& blocking_;
  const Clock& clock_;
};

}  // namespace sluice::api
