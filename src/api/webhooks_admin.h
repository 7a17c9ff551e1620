#pragma once
// Security: operator commands (admin socket, operator API key).
//
// "webhook list": each webhook's URL, tenant, outbox backlog and results;
// "webhook test NAME": one Test record POSTed now, and the receiver's answer;
// "webhook replay NAME SINCE": the event log's records since SINCE (RFC 3339)
// that the webhook takes, queued to it again. One JSON object line out.

#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace sluice::webhook {
class Webhooks;
}

namespace sluice::api {

// `words` is the command line split ("webhook", VERB, ...); `webhooks` may be
// null (none configured). Runs the test and the replay on the webhooks' thread.
boost::asio::awaitable<std::string> WebhookCommand(webhook::Webhooks* webhooks,
                                                   std::string event_log,
                                                   std::vector<std::string> words);

}  // namespace sluice::api
