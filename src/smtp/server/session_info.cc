// The plain descriptions a session hands on: its protocol keyword and the
// listener kinds' names.
#include "smtp/server/message_sink.h"
#include "smtp/server/options.h"

namespace sluice::smtp {

std::string SessionInfo::Protocol(bool smtputf8) const {
  if (!protocol.empty()) {
    return protocol;
  }
  if (!esmtp) {
    return "SMTP";
  }
  std::string p = smtputf8 ? "UTF8SMTP" : "ESMTP";
  if (!tls.version.empty()) {
    p += 'S';
  }
  if (!auth_user.empty()) {
    p += 'A';
  }
  return p;
}

const char* ToString(ListenerKind k) {
  switch (k) {
    case ListenerKind::kRelay:
      return "relay";
    case ListenerKind::kSubmission:
      return "submission";
    case ListenerKind::kSmtps:
      return "smtps";
  }
  return "relay";
}

}  // namespace sluice::smtp
