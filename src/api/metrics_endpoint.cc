#include "api/metrics_endpoint.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sluice::api {

namespace asio = boost::asio;

asio::awaitable<void> MetricsEndpoint::Refresh(const MetricsEndpoint* self) {
  self->opts_.refresh();
  co_return;
}

asio::awaitable<HttpResponse> MetricsEndpoint::Handle(const HttpRequest& req) {
  if (req.method != "GET") {
    HttpResponse r = ErrorResponse(405, "method_not_allowed", "use GET");
    r.headers.emplace_back("Allow", "GET");
    co_return r;
  }
  if (opts_.refresh && opts_.refresh_ctx != nullptr) {
    // A plain function, not a capturing lambda coroutine (GCC 12).
    co_await asio::co_spawn(*opts_.refresh_ctx, Refresh(this), asio::use_awaitable);
  }
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = opts_.registry.Write();
  co_return r;
}

}  // namespace sluice::api
