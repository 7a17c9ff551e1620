#include "api/dmarc.h"

#include <boost/json.hpp>

#include "core/address.h"
#include "core/time_format.h"
#include "runtime/blocking.h"

namespace sluice::api {
namespace {

std::int64_t Seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

boost::asio::awaitable<HttpResponse> DmarcApi::Handle(const HttpRequest& req) {
  if (req.method != "GET") {
    HttpResponse r = ErrorResponse(405, "method_not_allowed", "use GET");
    r.headers.emplace_back("Allow", "GET");
    co_return r;
  }
  dmarc::Query q;
  q.own = own_;
  auto to = clock_.Now();
  if (auto text = req.Query("to")) {
    auto t = ParseRfc3339(*text);
    if (!t) {
      co_return ErrorResponse(400, "bad_request", "\"to\" is an RFC 3339 date or date-time");
    }
    to = *t;
  }
  auto from = to - std::chrono::hours(24 * 30);
  if (auto text = req.Query("from")) {
    auto t = ParseRfc3339(*text);
    if (!t) {
      co_return ErrorResponse(400, "bad_request", "\"from\" is an RFC 3339 date or date-time");
    }
    from = *t;
  }
  if (from > to) {
    co_return ErrorResponse(400, "bad_request", "\"from\" is after \"to\"");
  }
  if (auto d = req.Query("domain")) {
    auto domain = NormalizeDomain(*d);
    if (!domain || domain->empty() || domain->front() == '[') {
      co_return ErrorResponse(400, "bad_request", "\"domain\" is a domain name");
    }
    q.domain = *domain;
  }
  q.from = std::max<std::int64_t>(0, Seconds(from));
  q.to = std::max<std::int64_t>(0, Seconds(to));
  std::string summary =
      co_await runtime::RunBlocking(blocking_, [this, &q] { return store_.Summarize(q); });
  // The period asked, then the figures.
  boost::system::error_code ec;
  auto v = boost::json::parse(summary, ec);
  if (ec || !v.is_object()) {
    co_return ErrorResponse(500, "internal", "the report summary could not be read");
  }
  v.as_object()["from"] = Rfc3339Micros(from);
  v.as_object()["to"] = Rfc3339Micros(to);
  HttpResponse r;
  r.body = boost::json::serialize(v);
  co_return r;
}

}  // namespace sluice::api
