#pragma once
// Security: open to anyone (the link is the credential): a token is believed
//           only with its tag, and a changed one gets 400 and no redirect,
//           so the host is no open redirector. Nothing is looked up or
//           stored: a hit costs a MAC and an event.
//
// /t/o/TOKEN (an open: a 1x1 transparent GIF) and /t/c/TOKEN (a click: 302
// to the link's target), GET or HEAD; each hit an Open or Click event, with
// machine traffic flagged (tracking/machine.h).

#include <chrono>
#include <string>
#include <string_view>

#include "api/http_server.h"
#include "core/clock.h"
#include "events/events.h"

namespace sluice::api {

class TrackingEndpoint {
 public:
  TrackingEndpoint(std::string secret, events::Bus& bus, std::chrono::seconds too_soon,
                   const Clock& clock = Clock::System())
      : secret_(std::move(secret)), bus_(bus), too_soon_(too_soon), clock_(clock) {}

  // `rest`: the path after "/t/".
  HttpResponse Handle(const HttpRequest& req, std::string_view rest) const;

 private:
  std::string secret_;
  events::Bus& bus_;
  std::chrono::seconds too_soon_;
  const Clock& clock_;
};

}  // namespace sluice::api
