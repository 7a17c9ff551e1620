#pragma once
// Security: a tenant's key reads and changes its own tenant's lists (and its
//           campaigns') only; the global list and other tenants' are the
//           operator's. Imports are bounded by the listener's body size.
// Standards: RFC 9110 (methods, status codes), RFC 4180 (CSV), RFC 3339.
//
// The suppression lists over HTTP and over the admin socket.
//
// HTTP (under /api/v1/suppressions; scope by ?tenant=T&campaign=C):
//   POST   /api/v1/suppressions          {"entries": [{"address", "reason",
//          "tenant", "campaign", "expires", "detail"}]} -> 201 {"added": N}
//   GET    /api/v1/suppressions/ADDRESS  what keeps mail of the scope from
//          ADDRESS (its campaign's, tenant's or the global list) -> 200 | 404
//   DELETE /api/v1/suppressions/ADDRESS  the entry of exactly that scope
//   POST   /api/v1/suppressions/import   CSV body (suppression/csv.h) ->
//          {"imported", "failed", "errors": [{"line", "message"}]} (first 100)
//   GET    /api/v1/suppressions/export   CSV of one scope, ?after=ADDRESS&
//          limit=N pages (Link: rel="next" while there is more)
// Admin socket (sluice suppression ...), words after "suppression":
//   add ADDRESS [--tenant T] [--campaign C] [--reason R] [--expires T|DUR] [--detail D]
//   remove ADDRESS [--tenant T] [--campaign C]
//   check ADDRESS [--tenant T] [--campaign C]
//   import [--tenant T] [--campaign C] [--reason R]   (CSV lines follow, to EOF)
//   export [--tenant T] [--campaign C] [--all]        (CSV lines back, then "# N entries")

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/http_server.h"
#include "auth/api_keys.h"
#include "suppression/store.h"

namespace sluice::api {

class SuppressionApi {
 public:
  // Store work that may take a while (imports, exports) runs on `blocking`.
  SuppressionApi(suppression::SuppressionStore& store, boost::asio::thread_pool& blocking)
      : store_(store), blocking_(blocking) {}

  // `rest`: the path after "/api/v1/suppressions" ("" or "/...").
  boost::asio::awaitable<HttpResponse> Handle(const HttpRequest& req, std::string_view rest,
                                              const auth::ApiKey& key);

  // An admin line's words after "suppression": add, remove, check. JSON.
  std::string Command(const std::vector<std::string>& words);
  // import and export: they read from and write to the socket themselves.
  static bool Streams(const std::vector<std::string>& words);
  static boost::asio::awaitable<void> Stream(SuppressionApi* self, std::vector<std::string> words,
                                             boost::asio::local::stream_protocol::socket& s,
                                             std::string pending);

 private:
  suppression::SuppressionStore& store_;
  boost::asio::thread_pool& blocking_;
};

}  // namespace sluice::api
