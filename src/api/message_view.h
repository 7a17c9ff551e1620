#pragma once
// Security: the caller checks the asking key may see the message's tenant
//           (MessageView::tenant) before answering with it.
// Standards: RFC 8259 (JSON), RFC 3339 (times).
//
// GET /api/v1/messages/{id}: what is known of one message, put together from
// its spool record (while it is queued) and its history of events (while the
// history keeps them): envelope, tenant, campaign, metadata, each recipient's
// state and last reply, and the events themselves.

#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "spool/spool.h"

namespace sluice::api {

struct MessageView {
  bool found = false;  // neither in the spool nor in the history: false
  std::string tenant;  // whose mail it is ("" none)
  boost::json::object body;
};

// `meta`: the spool record, if the message is still queued; `events`: its
// event records (JSON lines) in order.
MessageView ViewMessage(std::string_view id, const std::optional<spool::Meta>& meta,
                        const std::vector<std::string>& events);

}  // namespace sluice::api
