#include "ingest/reports.h"

#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bounce/dsn.h"
#include "core/address.h"
#include "runtime/log_errors.h"

namespace sluice::ingest {

namespace asio = boost::asio;

namespace {

const char* Kind(bounce::ReportAction a) {
  switch (a) {
    case bounce::ReportAction::kFailed:
      return "failure";
    case bounce::ReportAction::kDelayed:
      return "delay";
    default:
      return "relay";
  }
}

asio::awaitable<void> Submit(Ingest& ingest, spool::Spool& spool, bounce::DsnInput in,
                             SpoolId original, asio::any_io_executor owner,
                             std::function<void()> original_read) {
  // The original as stored (its headers, or all of it for RET=FULL); then
  // the spool may let it go.
  if (auto data = spool.ReadData(original)) {
    in.original_message = std::move(data).value();
  }
  asio::post(owner, std::move(original_read));
  Envelope env;
  // RFC 3461 §6.2 / RFC 5321 §4.5.5: reports go out from the null sender.
  Recipient to;
  to.address = in.original.sender;
  env.recipients.push_back(std::move(to));
  env.body = bounce::ReportIs8Bit(in) ? BodyType::k8BitMime : BodyType::k7Bit;
  const std::string what = Kind(in.action);
  const std::string rcpt = in.original.sender.ToString();
  std::string report = bounce::BuildReport(in);
  smtp::SessionInfo session;
  session.listener = "dsn";
  session.local_hostname = in.reporting_mta;
  session.helo = in.reporting_mta;
  session.esmtp = true;
  session.relay_client = true;  // our own mail: signed as our domain
  smtp::Reply r = co_await ingest.Accept(std::move(session), std::move(env), std::move(report));
  if (r.code / 100 == 2) {
    spdlog::info("{} report for {} to <{}>: {}", what, original.Hex(), rcpt, r.text);
  } else {
    spdlog::error("{} report for {} to <{}> not queued: {} {}", what, original.Hex(), rcpt, r.code,
                  r.text);
  }
}

}  // namespace

Reports::Reports(Ingest& ingest, spool::Spool& spool, asio::any_io_executor ex,
                 asio::any_io_executor owner, std::string reporting_mta, const Clock& clock)
    : ingest_(ingest),
      spool_(spool),
      ex_(std::move(ex)),
      owner_(std::move(owner)),
      reporting_mta_(std::move(reporting_mta)),
      clock_(clock) {}

void Reports::Report(const spool::Meta& original, bounce::ReportAction action,
                     std::vector<bounce::ReportedRecipient> recipients,
                     std::function<void()> original_read) {
  bounce::DsnInput in;
  in.action = action;
  in.reporting_mta = reporting_mta_;
  in.message_id = SpoolId::Generate().Hex();
  in.original = original.envelope;
  in.arrival = FromMicros(original.received_us);
  in.recipients = std::move(recipients);
  in.now = clock_.Now();
  asio::co_spawn(
      ex_, Submit(ingest_, spool_, std::move(in), original.id, owner_, std::move(original_read)),
      runtime::LogErrors{"delivery report"});
}

asio::awaitable<std::string> SubmitOwnReport(Ingest& ingest, asio::any_io_executor ex,
                                             std::string hostname, std::vector<std::string> rcpts,
                                             std::string message) {
  Envelope env;
  for (const auto& r : rcpts) {
    auto addr = ParseMailbox(r);
    if (!addr) {
      co_return "not a mail address: " + r;
    }
    Recipient to;
    to.address = std::move(addr).value();
    env.recipients.push_back(std::move(to));
  }
  env.body = BodyType::k7Bit;
  smtp::SessionInfo session;
  session.listener = "report";
  session.local_hostname = hostname;
  session.helo = hostname;
  session.esmtp = true;
  session.relay_client = true;  // our own mail: signed as our domain
  const smtp::Reply r = co_await asio::co_spawn(
      ex, ingest.Accept(std::move(session), std::move(env), std::move(message)),
      asio::use_awaitable);
  if (r.code / 100 == 2) {
    co_return std::string();
  }
  co_return fmt::format("{} {}", r.code, r.text);
}

}  // namespace sluice::ingest
