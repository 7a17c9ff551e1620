#pragma once
// Security: open to anyone (the link is the credential): a token is only
//           believed with its 128-bit tag; a GET changes nothing, because
//           link scanners and previews follow GETs (RFC 8058 §3.2, §4).
// Standards: RFC 8058 (one-click unsubscribe: POST with
//            List-Unsubscribe=One-Click), RFC 2369 §3.2.
//
// /u/TOKEN: GET shows a page with a button, POST unsubscribes (an
// Unsubscribe event; the suppression policy makes the entry). Idempotent: a
// recipient already kept from that mail is told so, with no new event.

#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/http_server.h"
#include "events/events.h"
#include "suppression/store.h"

namespace sluice::api {

class UnsubscribeEndpoint {
 public:
  UnsubscribeEndpoint(std::string secret, suppression::SuppressionStore& store, events::Bus& bus,
                      boost::asio::thread_pool& blocking)
      : secret_(std::move(secret)), store_(store), bus_(bus), blocking_(blocking) {}

  // `token`: the path after "/u/".
  boost::asio::awaitable<HttpResponse> Handle(const HttpRequest& req, std::string_view token);

 private:
  std::string secret_;
  suppression::SuppressionStore& store_;
  events::Bus& bus_;
  boost::asio::thread_pool& blocking_;
};

}  // namespace sluice::api
