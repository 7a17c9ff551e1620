#include "api/keys.h"

#include <chrono>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/time_format.h"
#include "queue/queue_name.h"

namespace sluice::api {

namespace json = boost::json;

namespace {

json::object Describe(const auth::ApiKey& k) {
  return json::object{
      {"id", k.id},
      {"tenant", k.operator_key() ? json::value(nullptr) : json::value(k.tenant)},
      {"created",
       Rfc3339Micros(std::chrono::system_clock::time_point(std::chrono::seconds(k.created)))}};
}

}  // namespace

std::string ListKeys(const auth::ApiKeyStore& keys) {
  json::array out;
  for (const auto& k : keys.List()) {
    out.push_back(Describe(k));
  }
  return json::serialize(json::object{{"keys", std::move(out)}});
}

Result<std::string, KeyCommandError> CreateKey(auth::ApiKeyStore& keys, const std::string& tenant,
                                               std::int64_t now_unix) {
  if (!tenant.empty() && !queue::ValidTag(tenant)) {
    return Fail(KeyCommandError{400, "a tenant name is 1-64 of A-Z a-z 0-9 . _ -"});
  }
  auto made = keys.Create(tenant, now_unix);
  if (!made) {
    return Fail(KeyCommandError{500, made.error()});
  }
  json::object o = Describe(made->first);
  o["key"] = made->second;
  return json::serialize(o);
}

Result<std::string, KeyCommandError> RevokeKey(auth::ApiKeyStore& keys, const std::string& id) {
  auto gone = keys.Revoke(id);
  if (!gone) {
    return Fail(KeyCommandError{500, gone.error()});
  }
  if (!*gone) {
    return Fail(KeyCommandError{404, "no key with id " + id});
  }
  return json::serialize(json::object{{"revoked", id}});
}

}  // namespace sluice::api
