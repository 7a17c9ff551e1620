#include "api/admin.h"

#include <unistd.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <sys/stat.h>

#include "api/keys.h"
#include "api/suppressions.h"
#include "api/webhooks_admin.h"
#include "config/config.h"
#include "core/spool_id.h"
#include "core/time_format.h"
#include "delivery/explain.h"
#include "queue/queue_name.h"
#include "tlsrpt/reporter.h"

namespace sluice::api {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxCommand = 1024;

namespace {

std::vector<std::string> Words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) {
    words.push_back(std::move(w));
  }
  return words;
}

std::string Error(const std::string& what) {
  return boost::json::serialize(boost::json::object{{"error", what}});
}

std::string Timestamp(std::int64_t us) {
  return Rfc3339Micros(std::chrono::system_clock::time_point(std::chrono::microseconds(us)));
}

std::string ExplanationJson(const delivery::Explanation& e) {
  namespace json = boost::json;
  json::array hosts;
  for (const auto& h : e.hosts) {
    hosts.emplace_back(h);
  }
  json::array sources;
  for (const auto& m : e.sources) {
    sources.push_back(json::object{{"name", m.name}, {"address", m.address}, {"weight", m.weight}});
  }
  json::object settings;
  for (const auto& o : shaping::ExplainOptions(e.effective)) {
    settings[o.name] = json::object{{"value", o.value}, {"origin", o.origin}};
  }
  json::array automation;
  for (const auto& [name, effect] : shaping::ExplainAutomation(e.effective)) {
    automation.push_back(json::object{{"rule", name}, {"effect", effect}});
  }
  auto or_null = [](const std::string& s) {
    return s.empty() ? json::value(nullptr) : json::value(s);
  };
  return json::serialize(json::object{{"domain", e.domain},
                                      {"hosts", std::move(hosts)},
                                      {"via", e.via},
                                      {"pool", or_null(e.pool)},
                                      {"pool_why", e.pool_why},
                                      {"sources", std::move(sources)},
                                      {"source", or_null(e.source)},
                                      {"provider", or_null(e.effective.provider)},
                                      {"settings", std::move(settings)},
                                      {"automation", std::move(automation)}});
}

}  // namespace

Result<std::unique_ptr<AdminServer>, std::string> AdminServer::Create(asio::io_context& ioc,
                                                                      std::string path,
                                                                      std::optional<Parts> parts) {
  std::unique_ptr<AdminServer> s(new AdminServer(ioc, path, parts));
  std::error_code fsec;
  auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) {
    std::filesystem::create_directories(dir, fsec);
  }
  ::unlink(path.c_str());  // a stale socket from an earlier run
  boost::system::error_code ec;
  s->acceptor_.open(local(), ec);
  if (!ec) {
    s->acceptor_.bind(local::endpoint(path), ec);
  }
  if (!ec) {
    ::chmod(path.c_str(), 0600);
    s->acceptor_.listen(16, ec);
  }
  if (ec) {
    return Fail("admin socket " + path + ": " + ec.message());
  }
  asio::co_spawn(ioc, AcceptLoop(s.get()), asio::detached);
  return s;
}

AdminServer::~AdminServer() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  ::unlink(path_.c_str());
}

asio::awaitable<void> AdminServer::AcceptLoop(AdminServer* self) {
  while (true) {
    auto [ec, sock] = co_await self->acceptor_.async_accept(kTuple);
    if (ec) {
      co_return;
    }
    asio::co_spawn(self->acceptor_.get_executor(), Serve(self, std::move(sock)), asio::detached);
  }
}

asio::awaitable<void> AdminServer::Serve(AdminServer* self, local::socket s) {
  asio::streambuf buf(kMaxCommand);
  asio::steady_timer guard(s.get_executor(), std::chrono::seconds(10));
  guard.async_wait([&s](boost::system::error_code ec) {
    if (!ec) {
      s.close(ec);  // a silent client does not hold the socket
    }
  });
  auto [ec, n] = co_await asio::async_read_until(s, buf, '\n', kTuple);
  std::string reply;
  if (ec) {
    reply = Error("expected one command line of at most 1024 octets");
  } else {
    std::string line(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
      line.pop_back();
    }
    auto words = Words(line);
    if (self->suppressions_ != nullptr && words.size() >= 2 && words[0] == "suppression" &&
        SuppressionApi::Streams({words.begin() + 1, words.end()})) {
      // An import or export: it reads and writes the socket itself, for as
      // long as it needs (with its own idle timeout).
      guard.cancel();
      buf.consume(n);
      std::string pending(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
      co_await SuppressionApi::Stream(self->suppressions_, {words.begin() + 1, words.end()}, s,
                                      std::move(pending));
      s.close(ec);
      co_return;
    }
    reply = co_await Run(self, std::move(line));
  }
  reply += '\n';
  co_await asio::async_write(s, asio::buffer(reply), kTuple);
  guard.cancel();
  s.close(ec);
}

asio::awaitable<std::string> AdminServer::Run(AdminServer* self, std::string line) {
  std::vector<std::string> words = Words(line);
  if (!words.empty() && words[0] == "webhook") {
    std::string out = co_await WebhookCommand(self->webhooks_, self->event_log_, std::move(words));
    co_return out;
  }
  if (words.size() < 2 || words[0] != "shaping" || words[1] != "explain") {
    co_return self->Execute(line);
  }
  constexpr std::string_view kUsage =
      "usage: shaping explain DOMAIN [--source IP] [--tenant T] [--campaign C]";
  if (!self->parts_) {
    co_return Error("delivery is not enabled on this node ([delivery] enabled = false)");
  }
  if (words.size() < 3 || words.size() % 2 == 0) {
    co_return Error(std::string(kUsage));
  }
  std::string source;
  std::string tenant;
  std::string campaign;
  for (std::size_t i = 3; i + 1 < words.size(); i += 2) {
    std::string* out = words[i] == "--source"     ? &source
                       : words[i] == "--tenant"   ? &tenant
                       : words[i] == "--campaign" ? &campaign
                                                  : nullptr;
    if (out == nullptr) {
      co_return Error(std::string(kUsage));
    }
    *out = words[i + 1];
  }
  auto query = delivery::MakeExplainQuery(words[2], source, tenant, campaign);
  if (!query) {
    co_return Error(query.error());
  }
  delivery::Dispatcher& d = self->parts_->dispatcher;
  delivery::Explanation e = co_await delivery::Explain(d.options(), d.options().shaping,
                                                       d.resolver(), std::move(query).value());
  std::string out = ExplanationJson(e);
  co_return out;
}

std::string AdminServer::KeyCommand(const std::string& verb, const std::string& arg,
                                    const std::string& extra) {
  if (keys_ == nullptr) {
    return Error("no API keys file is configured ([api] keys_file)");
  }
  if (!extra.empty()) {
    return Error("usage: key list | create [TENANT] | revoke ID");
  }
  Result<std::string, KeyCommandError> r = Fail(KeyCommandError{400, ""});
  if (verb == "list" && arg.empty()) {
    return ListKeys(*keys_);
  } else if (verb == "create") {
    r = CreateKey(*keys_, arg,
                  std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
  } else if (verb == "revoke" && !arg.empty()) {
    r = RevokeKey(*keys_, arg);
  } else {
    return Error("usage: key list | create [TENANT] | revoke ID");
  }
  return r ? std::move(r).value() : Error(r.error().message);
}

std::string AdminServer::Execute(const std::string& line) {
  if (line.rfind("suppression", 0) == 0) {
    if (suppressions_ == nullptr) {
      return Error("the suppression lists are not open on this node");
    }
    auto words = Words(line);
    words.erase(words.begin());
    return suppressions_->Command(words);
  }
  std::istringstream in(line);
  std::string group;
  std::string verb;
  std::string arg;
  std::string extra;
  std::string rest;
  in >> group >> verb >> arg >> extra >> rest;
  if (!rest.empty()) {
    return Error("unknown command: " + line);
  }
  if (group == "key") {
    return KeyCommand(verb, arg, extra);
  }
  if (group == "tls" && verb == "report") {
    if (tls_reports_ == nullptr) {
      return Error("TLS reports are off on this node ([tls_reports] enabled = false)");
    }
    if (arg == "status" && extra.empty()) {
      return tls_reports_->Status();
    }
    if (arg == "send" && extra.empty()) {
      auto n = tls_reports_->SendNow();
      if (!n) {
        return Error("TLS reports are being sent already; try again shortly");
      }
      return boost::json::serialize(boost::json::object{{"sending", *n}});
    }
    return Error("usage: tls report status|send");
  }
  // Domains and hex ids in any case; tenant and campaign names as written.
  if (auto q = queue::QueueName::Parse(arg)) {
    for (auto& c : q->domain) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    arg = q->ToString();
  } else {
    for (auto& c : arg) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (group == "shaping" && verb == "reload" && arg.empty()) {
    if (!shaping_reload_) {
      return Error("no shaping rules file is configured ([delivery] shaping)");
    }
    std::string problem = shaping_reload_();
    if (!problem.empty()) {
      return Error(problem);
    }
    return boost::json::serialize(boost::json::object{{"reloaded", "shaping"}});
  }
  if (group == "events" && verb == "status" && arg.empty() && events_status_) {
    auto st = events_status_();
    return boost::json::serialize(
        boost::json::object{{"written", st.written}, {"failed", st.failed}});
  }
  if (group == "health" && (verb.empty() || verb == "blocklists") && arg.empty()) {
    const bool lists = verb == "blocklists";
    if (auto answer = health_ ? health_(lists) : std::nullopt) {
      return *answer;
    }
    return Error(lists ? "blocklist checks are off on this node ([blocklists] enabled = false, "
                         "or nothing to check)"
                       : "scheduled health checks are off on this node ([health] enabled = "
                         "false, or no domain to watch)");
  }
  if (group == "bounce" && verb == "status" && arg.empty() && bounce_status_) {
    return bounce_status_();
  }
  if (group == "feedback" && verb == "status" && arg.empty()) {
    if (!feedback_status_) {
      return Error("no bounce domain is configured ([bounce] domain)");
    }
    auto st = feedback_status_();
    return boost::json::serialize(boost::json::object{{"bounces", st.bounces},
                                                      {"complaints", st.complaints},
                                                      {"unsubscribes", st.unsubscribes},
                                                      {"auto_replies", st.auto_replies},
                                                      {"ignored", st.ignored},
                                                      {"unparsed", st.unparsed},
                                                      {"dmarc_reports", st.dmarc_reports}});
  }
  if (group == "spool" && verb == "status" && arg.empty() && spool_status_) {
    auto st = spool_status_();
    return boost::json::serialize(boost::json::object{
        {"accepting", st.accepting},
        {"writable", st.stats.writable},
        {"reserve_held", st.stats.reserve_held},
        {"free_bytes", st.free_bytes ? boost::json::value(*st.free_bytes) : nullptr},
        {"min_free_disk", st.min_free_disk},
        {"stores", st.stats.stores},
        {"write_failures", st.stats.write_failures},
        {"refused", st.stats.refused},
        {"recoveries", st.stats.recoveries}});
  }
  if ((group == "warmup" || group == "queue") && !parts_) {
    return Error("delivery is not enabled on this node ([delivery] enabled = false)");
  }
  if (group == "warmup" && verb == "status" && arg.empty()) {
    boost::json::array sources;
    for (const auto& st : parts_->shaper.WarmupStatus()) {
      boost::json::object counts;
      for (const auto& [provider, n] : st.counts) {
        counts[provider] = n;
      }
      sources.push_back(boost::json::object{
          {"source", st.source},
          {"day", st.day},
          {"cap", st.cap ? boost::json::value(*st.cap) : boost::json::value(nullptr)},
          {"today", std::move(counts)}});
    }
    return boost::json::serialize(boost::json::object{{"sources", std::move(sources)}});
  }
  if (group != "queue" || (!extra.empty() && verb != "suspend")) {
    return Error("unknown command: " + line);
  }
  auto& d = parts_->queue;
  // A target is a queue name or a filter in that form ("acme@*").
  const bool spool_id = verb == "bounce" && SpoolId::FromHex(arg).has_value();
  if (!arg.empty() && !spool_id && !queue::QueueName::Parse(arg)) {
    return Error("not a queue name: " + arg +
                 " (want DOMAIN, TENANT@DOMAIN or CAMPAIGN:TENANT@DOMAIN; DOMAIN may be *)");
  }
  if (verb == "summary" && arg.empty()) {
    boost::json::array queues;
    for (const auto& q : d.Queues()) {
      queues.push_back(boost::json::object{{"queue", q.name},
                                           {"messages", q.messages},
                                           {"oldest", Timestamp(q.oldest_us)},
                                           {"next_due", Timestamp(q.next_due_us)},
                                           {"suspended", q.suspended}});
    }
    boost::json::array sites;
    for (const auto& s : parts_->dispatcher.Paths()) {
      sites.push_back(boost::json::object{
          {"site", s.name},
          {"ready", s.ready},
          {"connections", s.connections},
          {"suspended_until", s.suspended_until_us == 0
                                  ? boost::json::value(nullptr)
                                  : boost::json::value(Timestamp(s.suspended_until_us))}});
    }
    boost::json::array held;  // tenants and campaigns suspended by shaping rules
    for (const auto& g : parts_->shaper.GroupSuspensions()) {
      held.push_back(
          boost::json::object{{"scope", g.scope},
                              {"tenant", g.tenant},
                              {"campaign", g.campaign.empty() ? boost::json::value(nullptr)
                                                              : boost::json::value(g.campaign)},
                              {"site", g.site},
                              {"until", Timestamp(ToMicros(g.until))}});
    }
    boost::json::array by_operator;
    for (const auto& h : d.HeldTargets()) {
      by_operator.push_back(boost::json::object{
          {"target", h.target},
          {"until", h.until_us == 0 ? boost::json::value(nullptr)
                                    : boost::json::value(Timestamp(h.until_us))}});
    }
    return boost::json::serialize(
        boost::json::object{{"queues", std::move(queues)},
                            {"sites", std::move(sites)},
                            {"operator_suspensions", std::move(by_operator)},
                            {"suspensions", std::move(held)}});
  }
  if (verb == "flush") {
    return boost::json::serialize(boost::json::object{{"flushed", d.Flush(arg)}});
  }
  if (verb == "suspend" && !arg.empty()) {
    std::optional<std::chrono::milliseconds> how_long;
    if (!extra.empty()) {
      how_long = config::ParseDuration(extra);
      if (!how_long || how_long->count() <= 0 || *how_long > std::chrono::days(365)) {
        return Error("not a duration of up to a year: " + extra + " (e.g. 30m, 2h)");
      }
    }
    std::size_t held = d.Suspend(arg, how_long);
    return boost::json::serialize(boost::json::object{
        {"suspended", arg},
        {"for", extra.empty() ? boost::json::value(nullptr) : boost::json::value(extra)},
        {"held", held}});
  }
  if (verb == "resume" && !arg.empty()) {
    return boost::json::serialize(
        boost::json::object{{"resumed", arg}, {"released", d.Resume(arg)}});
  }
  if (verb == "bounce" && !arg.empty()) {
    return boost::json::serialize(boost::json::object{{"bounced", d.AdminBounce(arg)}});
  }
  return Error(
      "usage: queue summary | flush [QUEUE] | suspend QUEUE [DURATION] | resume QUEUE | "
      "bounce QUEUE|ID "
      "(QUEUE: [CAMPAIGN:][TENANT@]DOMAIN, DOMAIN may be *)");
}

}  // namespace sluice::api
