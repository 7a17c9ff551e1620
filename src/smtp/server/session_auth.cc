// The AUTH command (RFC 4954): SASL PLAIN (RFC 4616) and LOGIN, the
// challenge-response exchange, and the credential check off the reactor thread.
#include <boost/asio/use_awaitable.hpp>

#include "auth/sasl.h"
#include "core/ascii.h"
#include "core/base64.h"
#include "runtime/blocking.h"
#include "smtp/server/server.h"
#include "smtp/server/session.h"

namespace sluice::smtp {

namespace asio = boost::asio;
using asio::awaitable;

awaitable<Session::ChallengeStatus> Session::Challenge(std::string challenge,
                                                       std::string& response) {
  Queue({334, "", std::move(challenge)});
  ReadStatus read = co_await ReadLine(response, listener_.limits.max_auth_line_length);
  switch (read) {
    case ReadStatus::kOk:
      co_return ChallengeStatus::kOk;
    case ReadStatus::kTooLong:
      // RFC 4954 §6; the session goes on.
      co_return QueueError({500, "5.5.6", "Authentication Exchange line is too long"})
          ? ChallengeStatus::kFailed
          : ChallengeStatus::kEnd;
    case ReadStatus::kTimeout:
      Queue({421, "4.4.2", ctx_.options.hostname + " Timeout exceeded, closing connection"});
      co_return ChallengeStatus::kEnd;
    case ReadStatus::kDrain:
    case ReadStatus::kClosed:
      break;
  }
  co_return ChallengeStatus::kEnd;
}

awaitable<bool> Session::DoAuth(const Command& c) {
  if (!AuthOffered()) {
    if (ctx_.credentials && !tls_active_ && tls_ctx_) {
      co_return QueueError(
          {538, "5.7.11", "Encryption required for requested authentication mechanism"});
    }
    co_return QueueError({503, "5.5.1", "AUTH not available"});
  }
  if (info_.helo.empty()) {
    co_return QueueError({503, "5.5.1", "Send EHLO first"});
  }
  if (!info_.auth_user.empty()) {
    co_return QueueError({503, "5.5.1", "Already authenticated"});
  }
  if (in_transaction_) {
    co_return QueueError({503, "5.5.1", "AUTH not permitted during a mail transaction"});
  }
  const auto now = std::chrono::steady_clock::now();
  if (ctx_.auth_limiter->IsLocked(info_.client_ip, now)) {
    Queue({421, "4.7.0",
           ctx_.options.hostname + " Too many failed authentications, try again later"});
    co_return false;
  }
  std::string_view arg = c.arg;
  auto sp = arg.find(' ');
  std::string_view mech = arg.substr(0, sp);
  std::optional<std::string> initial;
  if (sp != std::string_view::npos) {
    initial = std::string(arg.substr(sp + 1));
  }
  std::string user;
  std::string pass;
  std::string resp;
  if (AsciiLower(mech) == "plain") {
    if (initial) {
      resp = *initial == "=" ? std::string() : *initial;
    } else {
      ChallengeStatus st = co_await Challenge("", resp);
      if (st != ChallengeStatus::kOk) {
        co_return st == ChallengeStatus::kFailed;
      }
    }
    if (resp == "*") {
      co_return QueueError({501, "5.0.0", "Authentication cancelled"});
    }
    auto creds = auth::DecodePlain(resp);
    if (!creds) {
      co_return QueueError({501, "5.5.2", "Malformed authentication response"});
    }
    if (!creds->authzid.empty() && creds->authzid != creds->authcid) {
      co_return QueueError({535, "5.7.8", "Authentication credentials invalid"});
    }
    user = std::move(creds->authcid);
    pass = std::move(creds->password);
  } else if (AsciiLower(mech) == "login") {
    if (initial) {
      resp = *initial;
    } else {
      ChallengeStatus st = co_await Challenge("VXNlcm5hbWU6", resp);
      if (st != ChallengeStatus::kOk) {
        co_return st == ChallengeStatus::kFailed;
      }
    }
    if (resp == "*") {
      co_return QueueError({501, "5.0.0", "Authentication cancelled"});
    }
    auto u = Base64Decode(resp);
    if (!u) {
      co_return QueueError({501, "5.5.2", "Malformed authentication response"});
    }
    user = std::move(*u);
    ChallengeStatus st = co_await Challenge("UGFzc3dvcmQ6", resp);
    if (st != ChallengeStatus::kOk) {
      co_return st == ChallengeStatus::kFailed;
    }
    if (resp == "*") {
      co_return QueueError({501, "5.0.0", "Authentication cancelled"});
    }
    auto p = Base64Decode(resp);
    if (!p) {
      co_return QueueError({501, "5.5.2", "Malformed authentication response"});
    }
    pass = std::move(*p);
  } else {
    co_return QueueError({504, "5.5.4", "Unrecognized authentication mechanism"});
  }
  deadline_.SetAt(std::chrono::steady_clock::time_point::max());
  // Argon2 takes tens of milliseconds: verify on the blocking pool. (The task is
  // a named local: GCC 12 mishandles lambdas built inside a co_await operand.)
  auto verify = [creds = ctx_.credentials, u = user, p = std::move(pass)] {
    return creds->Verify(u, p);
  };
  bool ok = co_await runtime::RunBlocking(*ctx_.blocking, std::move(verify));
  if (ok) {
    ctx_.auth_limiter->RecordSuccess(info_.client_ip);
    info_.auth_user = std::move(user);
    Queue({235, "2.7.0", "Authentication successful"});
    co_return true;
  }
  bool locked = ctx_.auth_limiter->RecordFailure(info_.client_ip, std::chrono::steady_clock::now());
  if (locked) {
    Queue({535, "5.7.8", "Authentication credentials invalid"});
    Queue({421, "4.7.0",
           ctx_.options.hostname + " Too many failed authentications, try again later"});
    co_return false;
  }
  co_return QueueError({535, "5.7.8", "Authentication credentials invalid"});
}

}  // namespace sluice::smtp
