#pragma once
// The OpenAPI 3.1 description of the HTTP API (src/api/openapi.json, built
// in), served at /api/v1/openapi.json; an e2e test walks it against the
// real server.

namespace sluice::api {

extern const char* const kOpenApiJson;

}  // namespace sluice::api
