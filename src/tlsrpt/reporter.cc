#include "tlsrpt/reporter.h"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "core/address.h"
#include "core/ascii.h"
#include "core/durable_file.h"
#include "runtime/log_errors.h"
#include "tlsrpt/record.h"
#include "webhook/http_post.h"

namespace sluice::tlsrpt {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxRua = 5;

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::int64_t Seconds(Clock::Wall::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

Reporter::Reporter(asio::any_io_executor ex, const Clock& clock, Ledger& ledger,
                   dns::Resolver& resolver, MailFn mail, std::shared_ptr<asio::ssl::context> https,
                   ReporterOptions opts, std::string state_file)
    : ex_(ex),
      clock_(clock),
      ledger_(ledger),
      resolver_(resolver),
      mail_(std::move(mail)),
      https_(std::move(https)),
      opts_(std::move(opts)),
      state_file_(std::move(state_file)),
      timer_(ex) {}

Reporter::~Reporter() = default;

bool Reporter::Load(std::string* error) {
  if (state_file_.empty()) {
    return true;
  }
  std::string text;
  if (!ReadWholeFile(state_file_, &text)) {
    *error = "cannot read " + state_file_;
    return false;
  }
  if (text.empty()) {
    return true;
  }
  if (auto r = ledger_.Deserialize(text); !r) {
    *error = state_file_ + ": " + r.error();
    return false;
  }
  return true;
}

void Reporter::Save() {
  if (state_file_.empty()) {
    return;
  }
  std::string error;
  if (!ReplaceFileDurably(state_file_, ledger_.Serialize(), &error)) {
    spdlog::warn("TLS reports: cannot save the counts: {}", error);
  }
}

void Reporter::Start() {
  asio::co_spawn(ex_, Loop(this), runtime::LogErrors{"TLS reports"});
}

void Reporter::Stop() {
  stopped_ = true;
  timer_.cancel();
  Save();
}

awaitable<void> Reporter::Loop(Reporter* self) {
  auto next_save = self->clock_.SteadyNow();
  while (!self->stopped_) {
    self->timer_.expires_after(self->opts_.check_every);
    co_await self->timer_.async_wait(kTuple);
    if (self->stopped_) {
      break;
    }
    const std::size_t waiting = self->ledger_.closed().size();
    self->ledger_.Roll(self->clock_.Now());
    const bool ended = self->ledger_.closed().size() > waiting;
    const auto now = self->clock_.SteadyNow();
    if (!self->busy_ && !self->ledger_.closed().empty() && (ended || now >= self->retry_at_)) {
      co_await SendAndLog(self);
    }
    // The counts are saved every few minutes (a crash loses at most those).
    if (self->ledger_.dirty() && self->clock_.SteadyNow() >= next_save) {
      self->Save();
      next_save = self->clock_.SteadyNow() + 5 * self->opts_.check_every;
    }
  }
}

awaitable<void> Reporter::SendAndLog(Reporter* self) {
  SendSummary s;
  try {
    s = co_await SendClosed(self);
  } catch (const std::exception& e) {
    self->busy_ = false;  // the next pass may try again
    spdlog::error("TLS reports: sending failed: {}", e.what());
  }
  if (s.sent + s.pending + s.dropped + s.no_record > 0) {
    spdlog::info("TLS reports: {} sent, {} to retry, {} given up; {} domains without a record",
                 s.sent, s.pending, s.dropped, s.no_record);
  }
  self->Save();
}

std::optional<std::size_t> Reporter::SendNow() {
  if (busy_) {
    return std::nullopt;
  }
  ledger_.Cut(clock_.Now());
  std::size_t n = 0;
  for (const auto& p : ledger_.closed()) {
    n += p.domains.size();
  }
  busy_ = true;  // taken now: the coroutine starts later
  asio::co_spawn(ex_, SendAndLog(this), runtime::LogErrors{"TLS reports"});
  return n;
}

std::string Reporter::Status() const {
  json::object domains;
  std::int64_t start = 0;
  std::int64_t end = 0;
  if (const auto& open = ledger_.open()) {
    start = open->start;
    end = open->end;
    for (const auto& [name, counts] : open->domains) {
      if (domains.size() >= 1000) {
        break;
      }
      std::uint64_t ok = 0;
      std::uint64_t failed = 0;
      for (const auto& [policy, c] : counts.policies) {
        ok += c.successes;
        failed += c.failures;
      }
      domains[name] = json::object{{"successful", ok}, {"failed", failed}};
    }
  }
  std::size_t waiting = 0;
  for (const auto& p : ledger_.closed()) {
    waiting += p.domains.size();
  }
  return json::serialize(json::object{{"start", start},
                                      {"end", end},
                                      {"domains", std::move(domains)},
                                      {"waiting", waiting},
                                      {"dropped_sessions", ledger_.dropped()}});
}

awaitable<SendSummary> Reporter::SendClosed(Reporter* self) {
  self->busy_ = true;
  SendSummary summary;
  auto& closed = self->ledger_.closed();
  // Periods are only appended meanwhile (deque: references stay valid).
  const std::size_t n = closed.size();
  for (std::size_t i = 0; i < n; ++i) {
    Period& period = closed[i];
    std::vector<std::string> names;
    for (const auto& [name, counts] : period.domains) {
      names.push_back(name);
    }
    for (const auto& name : names) {
      DomainCounts& counts = period.domains.at(name);
      bool done = false;
      try {
        done = co_await SendDomain(self, period, name, counts, summary);
      } catch (const std::exception& e) {
        // One domain's trouble (a failed allocation, a zlib error) is not
        // every domain's: counted as an attempt, the rest go on.
        spdlog::error("TLS reports: the report for {} failed: {}", name, e.what());
      }
      const std::int64_t now = Seconds(self->clock_.Now());
      if (!done && (++counts.attempts >= self->opts_.max_attempts ||
                    now >= period.end + std::chrono::seconds(self->opts_.give_up).count())) {
        spdlog::warn("TLS reports: giving up the report for {} ({} attempts)", name,
                     counts.attempts);
        ++summary.dropped;
      } else if (!done) {
        ++summary.pending;
        continue;
      }
      period.domains.erase(name);
    }
    self->ledger_.MarkChanged();
  }
  std::erase_if(closed, [](const Period& p) { return p.domains.empty(); });
  if (summary.pending > 0) {
    self->retry_at_ = self->clock_.SteadyNow() + self->opts_.retry_every;
  }
  self->busy_ = false;
  co_return summary;
}

awaitable<bool> Reporter::SendDomain(Reporter* self, const Period& period,
                                     const std::string& domain, DomainCounts& counts,
                                     SendSummary& summary) {
  auto txt = co_await self->resolver_.ResolveTxt("_smtp._tls." + domain);
  if (!txt) {
    if (dns::IsPermanent(txt.error())) {
      ++summary.no_record;
      co_return true;
    }
    spdlog::info("TLS reports: {}: cannot look up the TLS-RPT record: {}", domain,
                 dns::ToString(txt.error()));
    co_return false;  // a passing failure: later
  }
  const auto records = RecordsIn(*txt);
  if (records.size() != 1) {
    ++summary.no_record;  // RFC 8460 §3: none, or not exactly one
    co_return true;
  }
  auto rua = ParseRecord(records.front());
  if (!rua) {
    spdlog::info("TLS reports: {}: unusable TLS-RPT record: {}", domain, rua.error());
    ++summary.no_record;
    co_return true;
  }
  const std::string report = Gzip(ReportJson(self->opts_.who, period, domain, counts));
  std::vector<std::string> rcpts;
  std::vector<std::string> mail_uris;
  bool all = true;
  // At most kMaxRua distinct URIs: a record cannot turn one report into a
  // mailing to thousands.
  std::vector<std::string> uris;
  for (const auto& uri : *rua) {
    if (!Has(uris, uri) && uris.size() < kMaxRua) {
      uris.push_back(uri);
    }
  }
  for (const auto& uri : uris) {
    if (Has(counts.delivered, uri)) {
      continue;
    }
    if (AsciiLower(uri.substr(0, 7)) == "mailto:") {
      const std::string addr = MailtoAddress(uri);
      const auto mailbox = ParseMailbox(addr);
      if (!mailbox || mailbox->utf8) {  // an ASCII address: the report is 7-bit mail
        spdlog::info("TLS reports: {}: not a mail address: {}", domain, uri);
        counts.delivered.push_back(uri);  // nothing to retry
        continue;
      }
      rcpts.push_back(addr);
      mail_uris.push_back(uri);
      continue;
    }
    auto url = webhook::Url::Parse(uri);
    if (!url || !url->https) {
      spdlog::info("TLS reports: {}: not an https URL: {}", domain, uri);
      counts.delivered.push_back(uri);
      continue;
    }
    // RFC 8460 §5.4: POST the compressed report; any 2xx is success.
    webhook::HttpPoster poster(self->ex_, std::move(url).value(), self->https_,
                               self->opts_.https_timeout);
    webhook::HttpPoster::Headers headers{{"Content-Type", "application/tlsrpt+gzip"}};
    std::string body = report;
    const auto r = co_await poster.Post(std::move(headers), std::move(body));
    poster.Close();
    if (r.status / 100 == 2) {
      spdlog::info("TLS reports: report for {} posted to {}", domain, uri);
      counts.delivered.push_back(uri);
    } else {
      spdlog::info("TLS reports: report for {} not taken by {}: {}", domain, uri,
                   r.status != 0 ? "HTTP " + std::to_string(r.status) : r.error);
      all = false;
    }
  }
  if (!rcpts.empty()) {
    const ReportMail mail{self->opts_.from, rcpts, self->clock_.Now()};
    std::string message = BuildMail(self->opts_.who, period, domain, mail, report);
    const std::string error = co_await self->mail_(std::move(rcpts), std::move(message));
    if (error.empty()) {
      spdlog::info("TLS reports: report for {} queued to {}", domain, fmt::join(mail.to, ", "));
      counts.delivered.insert(counts.delivered.end(), mail_uris.begin(), mail_uris.end());
    } else {
      spdlog::warn("TLS reports: report for {} not queued: {}", domain, error);
      all = false;
    }
  }
  if (all) {
    ++summary.sent;
  }
  co_return all;
}

}  // namespace sluice::tlsrpt
