#include "api/tracking.h"

#include "tracking/machine.h"
#include "tracking/token.h"

namespace sluice::api {
namespace {

// A 1x1 transparent GIF (GIF89a).
constexpr unsigned char kPixel[] = {
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};

HttpResponse Text(unsigned status, std::string text) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(text);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

std::int64_t Seconds(Clock::Wall::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

HttpResponse TrackingEndpoint::Handle(const HttpRequest& req, std::string_view rest) const {
  if (req.method != "GET" && req.method != "HEAD") {
    HttpResponse r = Text(405, "GET or HEAD only\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (rest.size() < 3 || (rest.substr(0, 2) != "o/" && rest.substr(0, 2) != "c/")) {
    return Text(404, "not found\n");
  }
  const bool open = rest[0] == 'o';
  std::string_view token = rest.substr(2);
  if (open && token.size() > 4 && token.substr(token.size() - 4) == ".gif") {
    token.remove_suffix(4);
  }
  auto hit = tracking::Decode(token, secret_);
  if (!hit || (hit->kind == tracking::Kind::kOpen) != open ||
      hit->url.find_first_of("\r\n") != std::string::npos) {
    return Text(400, "This tracking link is not valid.\n");
  }
  const auto now = clock_.Now();
  events::Engagement e;
  e.type = open ? events::EngagementType::kOpen : events::EngagementType::kClick;
  e.id = hit->id.Hex();
  e.recipient = hit->recipient;
  e.tenant = hit->tenant;
  e.campaign = hit->campaign;
  e.url = hit->url;
  e.user_agent = std::string(req.Header("user-agent").substr(0, 512));
  e.client_ip = req.client_ip;
  e.machine = tracking::MachineReason(
      {req.method, req.Header("user-agent"), hit->sent, Seconds(now)}, too_soon_);
  e.sent = Clock::Wall::time_point(std::chrono::seconds(hit->sent));
  e.timestamp = now;
  bus_.Publish(e);

  HttpResponse r;
  r.headers.emplace_back("Cache-Control", "no-store, no-cache, must-revalidate, private");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (open) {
    r.content_type = "image/gif";
    if (req.method == "GET") {
      r.body.assign(reinterpret_cast<const char*>(kPixel), sizeof kPixel);
    }
    return r;
  }
  r.status = 302;
  r.content_type = "text/plain; charset=utf-8";
  r.headers.emplace_back("Location", hit->url);
  return r;
}

}  // namespace sluice::api
