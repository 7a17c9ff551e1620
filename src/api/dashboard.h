#pragma once
// Security: the pages hold no data and need no key; everything they show
//           comes from /api/v1 with the key the user types, kept in the
//           tab's sessionStorage. A strict Content-Security-Policy (scripts,
//           styles and connections to this origin only, no framing) keeps
//           injected markup from running.
//
// The dashboard: static pages built into the binary (src/api/dashboard/,
// with uPlot, vendored with its licence), served at / and /dashboard/NAME.

#include <optional>

#include "api/http_server.h"

namespace sluice::api {

// The answer for a dashboard path, or nullopt if the path is not one.
std::optional<HttpResponse> ServeDashboard(const HttpRequest& req);

}  // namespace sluice::api
