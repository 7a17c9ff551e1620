#include "api/unsubscribe.h"

#include <fmt/format.h>

#include "bounce/verp.h"
#include "runtime/blocking.h"

namespace sluice::api {

namespace {

HttpResponse Page(unsigned status, std::string_view title, std::string_view body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = fmt::format(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width\"><title>{0}</title>"
      "<meta name=\"robots\" content=\"noindex\"></head>\n<body style=\"font-family:sans-serif;"
      "max-width:32em;margin:4em auto\"><h1>{0}</h1>\n{1}\n</body></html>\n",
      title, body);
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Robots-Tag", "noindex");
  return r;
}

// "a***@example.com": enough for its owner to recognise, little for anyone else.
std::string Masked(const std::string& address) {
  const auto at = address.rfind('@');
  if (at == std::string::npos || at == 0) {
    return "your address";
  }
  std::string out(1, address[0]);
  out += "***";
  for (char c : address.substr(at)) {
    // Domain names are letters, digits, dots and hyphens; nothing to escape
    // for HTML, but be sure.
    out += (c == '<' || c == '>' || c == '&' || c == '"') ? '?' : c;
  }
  return out;
}

}  // namespace

boost::asio::awaitable<HttpResponse> UnsubscribeEndpoint::Handle(const HttpRequest& req,
                                                                 std::string_view token) {
  auto link = bounce::DecodeUnsubscribeLink(token, secret_);
  if (!link || link->recipient.empty()) {
    co_return Page(404, "Link not valid",
                   "<p>This unsubscribe link is not valid. Please use the link in the message "
                   "you received.</p>");
  }
  const std::string who = Masked(link->recipient);
  if (req.method == "GET" || req.method == "HEAD") {
    co_return Page(200, "Unsubscribe",
                   fmt::format("<p>Stop these messages to {}?</p>\n<form method=\"post\">"
                               "<input type=\"hidden\" name=\"List-Unsubscribe\" "
                               "value=\"One-Click\"><button type=\"submit\">Unsubscribe</button>"
                               "</form>",
                               who));
  }
  if (req.method != "POST") {
    HttpResponse r = Page(405, "Not allowed", "<p>Use the button on the page.</p>");
    r.headers.emplace_back("Allow", "GET, POST");
    co_return r;
  }
  const auto key = suppression::Key(link->recipient);
  if (!key) {
    co_return Page(404, "Link not valid", "<p>This unsubscribe link is not valid.</p>");
  }
  const std::string client_ip = req.client_ip;
  // A lookup and maybe a write: not on the reactor thread.
  co_await runtime::RunBlocking(blocking_, [this, &link, &key, &client_ip] {
    const auto now = std::chrono::system_clock::now();
    if (store_.Find(*key, link->tenant, link->campaign, now)) {
      return false;  // already kept from this mail: nothing new to say
    }
    events::Feedback e;
    e.type = events::FeedbackType::kUnsubscribe;
    e.via = "one-click";
    e.id = link->tag.id.Hex();
    e.recipient = link->recipient;
    e.tenant = link->tenant;
    e.campaign = link->campaign;
    e.client_ip = client_ip;
    e.timestamp = now;
    bus_.Publish(e);
    return true;
  });
  co_return Page(200, "Unsubscribed",
                 fmt::format("<p>{} will get no more of these messages.</p>", who));
}

}  // namespace sluice::api
