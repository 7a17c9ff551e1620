#include "api/suppressions.h"

#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include "config/config.h"
#include "core/time_format.h"
#include "runtime/blocking.h"
#include "suppression/csv.h"

namespace sluice::api {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using suppression::Entry;
using suppression::Scope;
using Clock = std::chrono::system_clock;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kBatch = 10000;        // import lines per store write
constexpr std::size_t kMaxErrors = 100;      // import errors reported by line
constexpr std::size_t kMaxPage = 1000000;    // export lines per HTTP page
constexpr std::size_t kMaxAddBatch = 10000;  // entries per POST
constexpr std::size_t kMaxLine = 4096;       // an import line

json::value OrNull(const std::string& s) {
  return s.empty() ? json::value(nullptr) : json::value(s);
}

json::value TimeOrNull(Clock::time_point t) {
  return t.time_since_epoch().count() == 0 ? json::value(nullptr) : json::value(Rfc3339Micros(t));
}

json::object EntryJson(const Entry& e) {
  return json::object{{"address", e.address},
                      {"tenant", OrNull(e.scope.tenant)},
                      {"campaign", OrNull(e.scope.campaign)},
                      {"reason", suppression::ToString(e.reason)},
                      {"created", TimeOrNull(e.created)},
                      {"expires", TimeOrNull(e.expires)},
                      {"source", OrNull(e.source)},
                      {"detail", OrNull(e.detail)}};
}

std::string AdminError(const std::string& what) {
  return json::serialize(json::object{{"error", what}});
}

// An RFC 3339 time, or a duration from now ("30d").
std::optional<Clock::time_point> ParseExpires(std::string_view text, Clock::time_point now) {
  if (auto t = ParseRfc3339(text)) {
    return t;
  }
  if (auto d = config::ParseDuration(text); d && d->count() > 0) {
    return now + *d;
  }
  return std::nullopt;
}

// The options of an admin command, after its verb (and address).
struct Flags {
  Scope scope;
  std::optional<suppression::Reason> reason;
  std::optional<Clock::time_point> expires;
  std::string detail;
  bool all = false;
  std::string error;
};

// Whether `flag` is one of the space-separated words of `allowed`.
bool Allowed(std::string_view allowed, std::string_view flag) {
  while (!allowed.empty()) {
    const auto sp = allowed.find(' ');
    if (allowed.substr(0, sp) == flag) {
      return true;
    }
    allowed = sp == std::string_view::npos ? std::string_view() : allowed.substr(sp + 1);
  }
  return false;
}

Flags ParseFlags(const std::vector<std::string>& w, std::size_t i, std::string_view allowed,
                 Clock::time_point now) {
  Flags f;
  for (; i < w.size(); ++i) {
    const std::string& flag = w[i];
    if (!Allowed(allowed, flag)) {
      f.error = "unknown option " + flag;
      return f;
    }
    if (flag == "--all") {
      f.all = true;
      continue;
    }
    if (i + 1 >= w.size()) {
      f.error = flag + " needs a value";
      return f;
    }
    const std::string& v = w[++i];
    if (flag == "--tenant") {
      f.scope.tenant = v;
    } else if (flag == "--campaign") {
      f.scope.campaign = v;
    } else if (flag == "--reason") {
      f.reason = suppression::ParseReason(v);
      if (!f.reason) {
        f.error = "--reason is hard-bounce, soft-bounce, complaint, unsubscribe or manual";
        return f;
      }
    } else if (flag == "--expires") {
      f.expires = ParseExpires(v, now);
      if (!f.expires) {
        f.error = "--expires is an RFC 3339 time or a duration such as 30d";
        return f;
      }
    } else if (flag == "--detail") {
      f.detail = v;
    }
  }
  if (!suppression::Valid(f.scope)) {
    f.error = "a tenant or campaign is 1-64 of A-Z a-z 0-9 . _ -, and a campaign needs --tenant";
  }
  return f;
}

HttpResponse JsonResponse(unsigned status, const json::object& o) {
  HttpResponse r;
  r.status = status;
  r.body = json::serialize(o);
  return r;
}

// The scope a request names (?tenant=&campaign=), as its key allows.
Result<Scope, HttpResponse> RequestScope(const HttpRequest& req, const auth::ApiKey& key) {
  Scope s;
  s.tenant = req.Query("tenant").value_or("");
  s.campaign = req.Query("campaign").value_or("");
  if (!key.operator_key()) {
    if (!s.tenant.empty() && s.tenant != key.tenant) {
      return Fail(ErrorResponse(403, "forbidden", "a tenant key reaches its own tenant's lists"));
    }
    s.tenant = key.tenant;
  }
  if (!suppression::Valid(s)) {
    return Fail(ErrorResponse(400, "bad_request",
                              "tenant and campaign are 1-64 of A-Z a-z 0-9 . _ -, and a campaign "
                              "needs a tenant"));
  }
  return s;
}

// Import lines parsed and written in one go, on the blocking pool.
struct ImportTally {
  std::uint64_t imported = 0;
  std::uint64_t failed = 0;
  json::array errors;
};

void ImportLines(suppression::SuppressionStore& store, suppression::CsvReader& reader,
                 const std::vector<std::string>& lines, std::uint64_t first_line,
                 ImportTally& tally) {
  std::vector<Entry> batch;
  batch.reserve(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto e = reader.Line(lines[i]);
    if (!e) {
      ++tally.failed;
      if (tally.errors.size() < kMaxErrors) {
        tally.errors.push_back(json::object{{"line", first_line + i}, {"message", e.error()}});
      }
    } else if (e->has_value()) {
      batch.push_back(std::move(**e));
    }
  }
  if (batch.empty()) {
    return;
  }
  if (auto r = store.Add(batch); !r) {
    tally.failed += batch.size();
    if (tally.errors.size() < kMaxErrors) {
      tally.errors.push_back(json::object{{"line", first_line}, {"message", r.error()}});
    }
    return;
  }
  tally.imported += batch.size();
}

json::object TallyJson(ImportTally& t) {
  return json::object{
      {"imported", t.imported}, {"failed", t.failed}, {"errors", std::move(t.errors)}};
}

}  // namespace

std::string SuppressionApi::Command(const std::vector<std::string>& w) {
  constexpr std::string_view kUsage =
      "usage: suppression add|remove|check ADDRESS [--tenant T] [--campaign C] ... | "
      "import | export";
  if (w.size() < 2) {
    return AdminError(std::string(kUsage));
  }
  const auto now = Clock::now();
  const std::string& verb = w[0];
  auto key = suppression::Key(w[1]);
  if (!key) {
    return AdminError("not an address or @domain: " + w[1]);
  }
  const std::string_view allowed =
      verb == "add" ? "--tenant --campaign --reason --expires --detail " : "--tenant --campaign ";
  Flags f = ParseFlags(w, 2, allowed, now);
  if (!f.error.empty()) {
    return AdminError(f.error);
  }
  if (verb == "add") {
    Entry e;
    e.address = *key;
    e.scope = f.scope;
    e.reason = f.reason.value_or(suppression::Reason::kManual);
    e.created = now;
    e.expires = f.expires.value_or(Clock::time_point{});
    e.source = "cli";
    e.detail = f.detail;
    if (auto r = store_.Add({e}); !r) {
      return AdminError(r.error());
    }
    return json::serialize(json::object{{"added", EntryJson(e)}});
  }
  if (verb == "remove") {
    auto r = store_.Remove(*key, f.scope);
    if (!r) {
      return AdminError(r.error());
    }
    if (!*r) {
      return AdminError("no entry for " + *key + " on the " + suppression::Describe(f.scope) +
                        " list");
    }
    return json::serialize(json::object{{"removed", *key}});
  }
  if (verb == "check") {
    auto e = store_.Find(*key, f.scope.tenant, f.scope.campaign, now);
    return json::serialize(json::object{{"address", *key},
                                        {"suppressed", e.has_value()},
                                        {"entry", e ? json::value(EntryJson(*e)) : nullptr}});
  }
  return AdminError(std::string(kUsage));
}

bool SuppressionApi::Streams(const std::vector<std::string>& w) {
  return !w.empty() && (w[0] == "import" || w[0] == "export");
}

awaitable<void> SuppressionApi::Stream(SuppressionApi* self, std::vector<std::string> w,
                                       asio::local::stream_protocol::socket& s,
                                       std::string pending) {
  const auto now = Clock::now();
  const bool import = w[0] == "import";
  Flags f = ParseFlags(
      w, 1, import ? "--tenant --campaign --reason " : "--tenant --campaign --all ", now);
  if (f.error.empty() && f.all && (!f.scope.tenant.empty())) {
    f.error = "--all exports every list: no --tenant or --campaign with it";
  }
  if (!f.error.empty()) {
    std::string reply = AdminError(f.error) + "\n";
    co_await asio::async_write(s, asio::buffer(reply), kTuple);
    co_return;
  }
  // A client that goes quiet for a minute loses the connection.
  asio::steady_timer idle(s.get_executor());
  auto arm = [&idle, &s] {
    idle.expires_after(std::chrono::seconds(60));
    idle.async_wait([&s](boost::system::error_code ec) {
      if (!ec) {
        s.close(ec);
      }
    });
  };
  if (import) {
    Entry defaults;
    defaults.scope = f.scope;
    defaults.reason = f.reason.value_or(suppression::Reason::kManual);
    defaults.source = "import";
    suppression::CsvReader reader(defaults, now);
    ImportTally tally;
    std::vector<std::string> lines;
    std::uint64_t line_no = 1;  // of the first line in `lines`
    std::string buf = std::move(pending);
    std::array<char, 65536> chunk{};
    bool eof = false;
    while (!eof) {
      arm();
      auto [ec, n] = co_await s.async_read_some(asio::buffer(chunk), kTuple);
      buf.append(chunk.data(), n);
      eof = static_cast<bool>(ec);
      std::size_t start = 0;
      for (std::size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
        lines.emplace_back(buf, start, nl - start);
      }
      buf.erase(0, start);
      if (buf.size() > kMaxLine) {
        lines.push_back(std::move(buf));  // reported as a bad line
        buf.clear();
      }
      if (eof && !buf.empty()) {
        lines.push_back(std::move(buf));
      }
      if (lines.size() >= kBatch || (eof && !lines.empty())) {
        const std::uint64_t first = line_no;
        line_no += lines.size();
        co_await runtime::RunBlocking(self->blocking_, [&] {
          ImportLines(self->store_, reader, lines, first, tally);
          return true;
        });
        lines.clear();
      }
    }
    idle.cancel();
    std::string reply = json::serialize(TallyJson(tally)) + "\n";
    co_await asio::async_write(s, asio::buffer(reply), kTuple);
    co_return;
  }
  // Export: pages read on the blocking pool, written as they come.
  std::string out = std::string(suppression::kCsvHeader) + "\n";
  std::uint64_t count = 0;
  std::optional<Entry> last;
  const Scope* scope = f.all ? nullptr : &f.scope;
  while (true) {
    std::size_t n = 0;
    std::optional<Entry> next_last;
    std::string page = co_await runtime::RunBlocking(self->blocking_, [&] {
      std::string lines;
      self->store_.ForEach(scope, last ? &*last : nullptr, now, [&](const Entry& e) {
        lines += suppression::ToCsv(e);
        lines += '\n';
        next_last = e;
        return ++n < kBatch;
      });
      return lines;
    });
    out += page;
    count += n;
    last = std::move(next_last);
    if (n < kBatch) {
      out += fmt::format("# {} entries\n", count);
    }
    arm();
    auto [ec, written] = co_await asio::async_write(s, asio::buffer(out), kTuple);
    out.clear();
    if (ec || n < kBatch) {
      break;
    }
  }
  idle.cancel();
}

awaitable<HttpResponse> SuppressionApi::Handle(const HttpRequest& req, std::string_view rest,
                                               const auth::ApiKey& key) {
  auto scope = RequestScope(req, key);
  if (!scope) {
    co_return scope.error();
  }
  const auto now = Clock::now();
  if (rest.empty()) {
    if (req.method != "POST") {
      HttpResponse r = ErrorResponse(405, "method_not_allowed", "use POST");
      r.headers.emplace_back("Allow", "POST");
      co_return r;
    }
    boost::system::error_code ec;
    json::value v = json::parse(req.body, ec);
    const json::array* list = nullptr;
    if (!ec && v.is_object() && v.get_object().contains("entries")) {
      list = v.get_object().at("entries").if_array();
    }
    if (list == nullptr || list->empty() || list->size() > kMaxAddBatch) {
      co_return ErrorResponse(400, "bad_request",
                              "the body is {\"entries\": [...]}, 1 to 10000 of them");
    }
    std::vector<Entry> entries;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const json::object* o = (*list)[i].if_object();
      auto bad = [i](const std::string& why) {
        return ErrorResponse(400, "bad_request", fmt::format("entries[{}]: {}", i, why));
      };
      if (o == nullptr) {
        co_return bad("an entry is an object");
      }
      Entry e;
      e.scope = *scope;
      e.created = now;
      e.source = "api";
      for (const auto& [k, f] : *o) {
        if (!f.is_string()) {
          co_return bad(fmt::format("\"{}\" is not a string", std::string_view(k)));
        }
        const std::string val(f.get_string());
        if (k == "address") {
          auto a = suppression::Key(val);
          if (!a) {
            co_return bad("not an address or @domain: " + val);
          }
          e.address = std::move(*a);
        } else if (k == "reason") {
          auto r = suppression::ParseReason(val);
          if (!r) {
            co_return bad("reason is hard-bounce, soft-bounce, complaint, unsubscribe or manual");
          }
          e.reason = *r;
        } else if (k == "tenant" || k == "campaign") {
          (k == "tenant" ? e.scope.tenant : e.scope.campaign) = val;
        } else if (k == "expires") {
          auto t = ParseExpires(val, now);
          if (!t) {
            co_return bad("expires is an RFC 3339 time or a duration such as \"30d\"");
          }
          e.expires = *t;
        } else if (k == "detail") {
          e.detail = val.substr(0, 1000);
        } else {
          co_return bad(fmt::format(
              "unknown field \"{}\" (known: address, reason, tenant, campaign, expires, detail)",
              std::string_view(k)));
        }
      }
      if (e.address.empty()) {
        co_return bad("\"address\" is required");
      }
      if (!key.operator_key() && e.scope.tenant != key.tenant) {
        co_return ErrorResponse(403, "forbidden", "a tenant key reaches its own tenant's lists");
      }
      if (!suppression::Valid(e.scope)) {
        co_return bad(
            "tenant and campaign are 1-64 of A-Z a-z 0-9 . _ -, and a campaign needs a "
            "tenant");
      }
      entries.push_back(std::move(e));
    }
    auto added =
        co_await runtime::RunBlocking(blocking_, [this, &entries] { return store_.Add(entries); });
    if (!added) {
      co_return ErrorResponse(503, "unavailable", added.error());
    }
    co_return JsonResponse(201, json::object{{"added", entries.size()}});
  }
  if (rest == "/import") {
    if (req.method != "POST") {
      HttpResponse r = ErrorResponse(405, "method_not_allowed", "use POST");
      r.headers.emplace_back("Allow", "POST");
      co_return r;
    }
    auto reason = req.Query("reason");
    Entry defaults;
    defaults.scope = *scope;
    defaults.source = "import";
    if (reason) {
      auto r = suppression::ParseReason(*reason);
      if (!r) {
        co_return ErrorResponse(
            400, "bad_request",
            "reason is hard-bounce, soft-bounce, complaint, unsubscribe or manual");
      }
      defaults.reason = *r;
    }
    suppression::CsvReader reader(defaults, now);
    if (!key.operator_key()) {
      reader.HoldToTenant(key.tenant);
    }
    ImportTally tally = co_await runtime::RunBlocking(blocking_, [this, &req, &reader] {
      ImportTally t;
      std::vector<std::string> lines;
      std::uint64_t first = 1;
      std::string_view body = req.body;
      while (!body.empty()) {
        const auto nl = body.find('\n');
        lines.emplace_back(body.substr(0, nl));
        body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
        if (lines.size() == kBatch || body.empty()) {
          ImportLines(store_, reader, lines, first, t);
          first += lines.size();
          lines.clear();
        }
      }
      return t;
    });
    co_return JsonResponse(200, TallyJson(tally));
  }
  if (rest == "/export") {
    if (req.method != "GET") {
      HttpResponse r = ErrorResponse(405, "method_not_allowed", "use GET");
      r.headers.emplace_back("Allow", "GET");
      co_return r;
    }
    std::size_t limit = kMaxPage;
    if (auto l = req.Query("limit")) {
      char* end = nullptr;
      const unsigned long long n = std::strtoull(l->c_str(), &end, 10);
      if (l->empty() || *end != '\0' || n == 0 || n > kMaxPage) {
        co_return ErrorResponse(400, "bad_request", "limit is 1 to 1000000");
      }
      limit = n;
    }
    std::optional<Entry> after;
    if (auto a = req.Query("after")) {
      auto k = suppression::Key(*a);
      if (!k) {
        co_return ErrorResponse(400, "bad_request", "after is an address or @domain");
      }
      after.emplace();
      after->scope = *scope;
      after->address = std::move(*k);
    }
    struct Page {
      std::string body;
      std::size_t n = 0;
      std::string last;
    };
    const Scope sc = *scope;
    Page page = co_await runtime::RunBlocking(blocking_, [this, &sc, &after, limit, now] {
      Page p;
      p.body = std::string(suppression::kCsvHeader) + "\n";
      store_.ForEach(&sc, after ? &*after : nullptr, now, [&p, limit](const Entry& e) {
        p.body += suppression::ToCsv(e);
        p.body += '\n';
        p.last = e.address;
        return ++p.n < limit;
      });
      return p;
    });
    HttpResponse r;
    r.content_type = "text/csv; charset=utf-8";
    r.body = std::move(page.body);
    if (page.n == limit) {
      std::string next = "/api/v1/suppressions/export?limit=" + std::to_string(limit);
      if (!sc.tenant.empty()) {
        next += "&tenant=" + sc.tenant;
      }
      if (!sc.campaign.empty()) {
        next += "&campaign=" + sc.campaign;
      }
      std::string enc;
      for (char c : page.last) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '.' || c == '-' || c == '_') {
          enc.push_back(c);
        } else {
          enc += fmt::format("%{:02X}", u);
        }
      }
      r.headers.emplace_back("Link", "<" + next + "&after=" + enc + ">; rel=\"next\"");
    }
    co_return r;
  }
  // "/ADDRESS"
  auto text = PercentDecode(rest.substr(1), false);
  auto address = text ? suppression::Key(*text) : std::nullopt;
  if (!address) {
    co_return ErrorResponse(400, "bad_request", "not an address or @domain");
  }
  if (req.method == "GET") {
    const Scope sc = *scope;
    const std::string a = *address;
    auto e = co_await runtime::RunBlocking(
        blocking_, [this, &a, &sc, now] { return store_.Find(a, sc.tenant, sc.campaign, now); });
    if (!e) {
      co_return ErrorResponse(
          404, "not_found",
          *address + " is not suppressed for the " + suppression::Describe(sc) + " mail");
    }
    co_return JsonResponse(200, EntryJson(*e));
  }
  if (req.method == "DELETE") {
    auto removed = store_.Remove(*address, *scope);
    if (!removed) {
      co_return ErrorResponse(503, "unavailable", removed.error());
    }
    if (!*removed) {
      co_return ErrorResponse(
          404, "not_found",
          "no entry for " + *address + " on the " + suppression::Describe(*scope) + " list");
    }
    co_return JsonResponse(200, json::object{{"removed", *address},
                                             {"tenant", OrNull(scope->tenant)},
                                             {"campaign", OrNull(scope->campaign)}});
  }
  HttpResponse r = ErrorResponse(405, "method_not_allowed", "use GET or DELETE");
  r.headers.emplace_back("Allow", "GET, DELETE");
  co_return r;
}

}  // namespace sluice::api
