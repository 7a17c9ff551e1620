#include "app/admin_output.h"

#include <algorithm>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

namespace sluice::app {

namespace json = boost::json;

namespace {

std::string Text(const json::value& v) {
  if (v.is_null()) {
    return "-";
  }
  if (v.is_string()) {
    return std::string(v.as_string());
  }
  if (v.is_bool()) {
    return v.as_bool() ? "yes" : "no";
  }
  if (v.is_int64()) {
    return std::to_string(v.as_int64());
  }
  if (v.is_uint64()) {
    return std::to_string(v.as_uint64());
  }
  if (v.is_object()) {  // warm-up counts: provider=n, ...
    std::string out;
    for (const auto& [k, n] : v.as_object()) {
      out += (out.empty() ? "" : " ") + std::string(k) + "=" + Text(n);
    }
    return out.empty() ? "-" : out;
  }
  return json::serialize(v);
}

const json::value& Field(const json::object& o, std::string_view key) {
  static const json::value kNull;
  auto it = o.find(key);
  return it == o.end() ? kNull : it->value();
}

// A table: a header row, then one row per element of `rows`; columns are
// padded to their widest cell, numbers right-aligned.
struct Column {
  const char* title;
  const char* key;
};

std::string Table(const json::array& rows, const std::vector<Column>& cols) {
  std::vector<std::vector<std::string>> cells;
  std::vector<std::size_t> width;
  std::vector<bool> numeric(cols.size(), true);
  for (const auto& c : cols) {
    width.push_back(std::string_view(c.title).size());
  }
  for (const auto& row : rows) {
    if (!row.is_object()) {
      continue;
    }
    std::vector<std::string> line;
    for (std::size_t i = 0; i < cols.size(); ++i) {
      const auto& v = Field(row.as_object(), cols[i].key);
      numeric[i] = numeric[i] && (v.is_int64() || v.is_uint64());
      line.push_back(Text(v));
      width[i] = std::max(width[i], line.back().size());
    }
    cells.push_back(std::move(line));
  }
  auto format_row = [&](const std::vector<std::string>& line) {
    std::string out;
    for (std::size_t i = 0; i < line.size(); ++i) {
      bool last = i + 1 == line.size();
      if (numeric[i]) {
        out += fmt::format("{:>{}}", line[i], width[i]);
      } else {
        out += last ? line[i] : fmt::format("{:<{}}", line[i], width[i]);
      }
      out += last ? "\n" : "  ";
    }
    return out;
  };
  std::vector<std::string> header;
  for (const auto& c : cols) {
    header.emplace_back(c.title);
  }
  std::string out = format_row(header);
  for (const auto& line : cells) {
    out += format_row(line);
  }
  return out;
}

const json::array& Array(const json::object& o, std::string_view key) {
  static const json::array kEmpty;
  const auto& v = Field(o, key);
  return v.is_array() ? v.as_array() : kEmpty;
}

std::string Summary(const json::object& o) {
  std::string out;
  const auto& queues = Array(o, "queues");
  if (queues.empty()) {
    out += "No mail queued.\n";
  } else {
    std::uint64_t total = 0;
    for (const auto& q : queues) {
      if (!q.is_object()) {
        continue;
      }
      const auto& n = Field(q.as_object(), "messages");
      total += n.is_uint64() ? n.as_uint64() : n.is_int64() ? n.as_int64() : 0;
    }
    out += Table(queues, {{"QUEUE", "queue"},
                          {"MESSAGES", "messages"},
                          {"OLDEST", "oldest"},
                          {"NEXT DUE", "next_due"},
                          {"SUSPENDED", "suspended"}});
    out += fmt::format("-- {} messages in {} queues\n", total, queues.size());
  }
  if (const auto& sites = Array(o, "sites"); !sites.empty()) {
    out += "\n" + Table(sites, {{"SITE", "site"},
                                {"READY", "ready"},
                                {"CONNECTIONS", "connections"},
                                {"SUSPENDED UNTIL", "suspended_until"}});
  }
  if (const auto& held = Array(o, "operator_suspensions"); !held.empty()) {
    out +=
        "\nSuspended by the operator:\n" + Table(held, {{"TARGET", "target"}, {"UNTIL", "until"}});
  }
  if (const auto& rules = Array(o, "suspensions"); !rules.empty()) {
    out += "\nSuspended by reply rules:\n" + Table(rules, {{"SCOPE", "scope"},
                                                           {"TENANT", "tenant"},
                                                           {"CAMPAIGN", "campaign"},
                                                           {"SITE", "site"},
                                                           {"UNTIL", "until"}});
  }
  return out;
}

// "health": one row per check of every domain, then what to publish or
// change for each check that fails or warns.
std::string Health(const json::object& o) {
  json::array rows;
  std::string fixes;
  for (const auto& d : Array(o, "domains")) {
    const auto& domain = d.as_object();
    for (const auto& c : Array(domain, "checks")) {
      const auto& check = c.as_object();
      std::string status = Text(Field(check, "status"));
      if (status == "fail") {
        status = "FAIL";  // stands out, as in `sluice doctor`
      }
      rows.push_back(json::object{{"domain", Field(domain, "domain")},
                                  {"check", Field(check, "name")},
                                  {"status", status},
                                  {"since", Field(check, "since")},
                                  {"detail", Field(check, "detail")}});
      if (const auto fix = Text(Field(check, "fix")); !fix.empty() && status != "pass") {
        fixes += fmt::format("  {} {}: {}\n", Text(Field(domain, "domain")),
                             Text(Field(check, "name")), fix);
      }
    }
  }
  if (rows.empty()) {
    return "No domain checked yet.\n";
  }
  std::string out = Table(rows, {{"DOMAIN", "domain"},
                                 {"CHECK", "check"},
                                 {"STATUS", "status"},
                                 {"SINCE", "since"},
                                 {"DETAIL", "detail"}});
  return fixes.empty() ? out : out + "\nTo fix:\n" + fixes;
}

// "health blocklists": one row per list and subject, and the sources out of
// their pools.
std::string Blocklists(const json::object& o) {
  json::array rows;
  for (const auto& l : Array(o, "listings")) {
    const auto& listing = l.as_object();
    std::string status = Text(Field(listing, "status"));
    std::string detail = Text(Field(listing, "meaning"));
    if (const auto reason = Text(Field(listing, "reason")); !reason.empty()) {
      detail += (detail.empty() ? "" : ": ") + reason;
    }
    if (const auto error = Text(Field(listing, "error")); !error.empty()) {
      detail += (detail.empty() ? "" : "; ") + std::string("last query: ") + error;
    }
    rows.push_back(json::object{{"list", Field(listing, "list")},
                                {"subject", Field(listing, "subject")},
                                {"status", status == "listed" ? "LISTED" : status},
                                {"since", Field(listing, "since")},
                                {"detail", detail}});
  }
  std::string out = rows.empty() ? "No blocklist has answered yet.\n"
                                 : Table(rows, {{"LIST", "list"},
                                                {"SUBJECT", "subject"},
                                                {"STATUS", "status"},
                                                {"SINCE", "since"},
                                                {"DETAIL", "detail"}});
  for (const auto& a : Array(o, "out_of_pools")) {
    out += fmt::format("{} is out of its pools until delisted\n", Text(a));
  }
  return out;
}

}  // namespace

RenderedReply RenderAdminReply(const std::vector<std::string>& command, std::string_view text) {
  RenderedReply r;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    r.out = std::string(text);  // not ours to interpret: as it came
    return r;
  }
  const auto& o = v.as_object();
  if (const auto& e = Field(o, "error"); !e.is_null()) {
    r.error = Text(e);
    return r;
  }
  const std::string verb = command.size() >= 2 ? command[0] + " " + command[1] : "";
  if (command.size() == 1 && command[0] == "health") {
    r.out = Health(o);
  } else if (verb == "health blocklists") {
    r.out = Blocklists(o);
  } else if (verb == "queue summary") {
    r.out = Summary(o);
  } else if (verb == "queue flush") {
    r.out = fmt::format("{} messages due now\n", Text(Field(o, "flushed")));
  } else if (verb == "queue suspend") {
    const auto& for_ = Field(o, "for");
    r.out = fmt::format("suspended {}{}: {} messages held\n", Text(Field(o, "suspended")),
                        for_.is_null() ? " until resumed" : " for " + Text(for_),
                        Text(Field(o, "held")));
  } else if (verb == "queue resume") {
    r.out = fmt::format("resumed {}: {} messages released\n", Text(Field(o, "resumed")),
                        Text(Field(o, "released")));
  } else if (verb == "queue bounce") {
    r.out = fmt::format("{} recipients bounced\n", Text(Field(o, "bounced")));
  } else if (verb == "events status") {
    r.out = fmt::format("event log: {} records written, {} not written (disk full or I/O error)\n",
                        Text(Field(o, "written")), Text(Field(o, "failed")));
  } else if (verb == "bounce status") {
    r.out = o.empty() ? "No failures since start.\n" : "";
    for (const auto& [type, by_class] : o) {
      for (const auto& [klass, n] : by_class.as_object()) {
        r.out += fmt::format("{:<17} {:<17} {}\n", std::string_view(type), std::string_view(klass),
                             Text(n));
      }
    }
  } else if (verb == "feedback status") {
    r.out = fmt::format(
        "feedback since start: {} bounces, {} complaints, {} unsubscribes (by mail), {} "
        "auto-replies dropped, {} reports of no failure, {} not understood (kept), {} DMARC "
        "aggregate reports\n",
        Text(Field(o, "bounces")), Text(Field(o, "complaints")), Text(Field(o, "unsubscribes")),
        Text(Field(o, "auto_replies")), Text(Field(o, "ignored")), Text(Field(o, "unparsed")),
        Text(Field(o, "dmarc_reports")));
  } else if (verb == "spool status") {
    auto is = [&o](std::string_view key) {
      const auto& field = Field(o, key);
      return field.is_bool() && field.as_bool();
    };
    const char* state = is("accepting")       ? "accepting mail"
                        : !is("writable")     ? "refusing mail: recovering from a failed write"
                        : !is("reserve_held") ? "refusing mail until its space reserve is back"
                                              : "refusing mail: free space at the floor";
    r.out = fmt::format(
        "spool: {}\nfree: {} bytes (floor {})\nstored: {}, refused: {}, write failures: {}, "
        "recoveries: {}\n",
        state, Text(Field(o, "free_bytes")), Text(Field(o, "min_free_disk")),
        Text(Field(o, "stores")), Text(Field(o, "refused")), Text(Field(o, "write_failures")),
        Text(Field(o, "recoveries")));
  } else if (verb == "key list") {
    const auto& keys = Array(o, "keys");
    r.out = keys.empty()
                ? "No API keys.\n"
                : Table(keys, {{"ID", "id"}, {"TENANT", "tenant"}, {"CREATED", "created"}});
  } else if (verb == "key create") {
    const auto& tenant = Field(o, "tenant");
    r.out =
        fmt::format("key {} ({}): {}\nThe key is shown this once; sluiced keeps only its hash.\n",
                    Text(Field(o, "id")), tenant.is_null() ? "operator" : "tenant " + Text(tenant),
                    Text(Field(o, "key")));
  } else if (verb == "key revoke") {
    r.out = fmt::format("revoked key {}\n", Text(Field(o, "revoked")));
  } else if (verb == "suppression add") {
    const auto& e = Field(o, "added");
    r.out = fmt::format("added {}\n", Text(Field(e.as_object(), "address")));
  } else if (verb == "suppression remove") {
    r.out = fmt::format("removed {}\n", Text(Field(o, "removed")));
  } else if (verb == "suppression check") {
    const auto& e = Field(o, "entry");
    if (e.is_null()) {
      r.out = fmt::format("{}: not suppressed\n", Text(Field(o, "address")));
    } else {
      const auto& eo = e.as_object();
      const auto& tenant = Field(eo, "tenant");
      const auto& campaign = Field(eo, "campaign");
      const auto& expires = Field(eo, "expires");
      r.out = fmt::format("{}: suppressed by {} on the {} list ({}, since {}{})\n",
                          Text(Field(o, "address")), Text(Field(eo, "address")),
                          tenant.is_null()     ? std::string("global")
                          : campaign.is_null() ? "tenant " + Text(tenant)
                                               : "campaign " + Text(tenant) + "/" + Text(campaign),
                          Text(Field(eo, "reason")), Text(Field(eo, "created")),
                          expires.is_null() ? std::string() : ", until " + Text(expires));
    }
  } else if (verb == "shaping reload") {
    r.out = "shaping rules reloaded\n";
  } else if (verb == "webhook list") {
    const auto& hooks = Array(o, "webhooks");
    r.out = hooks.empty() ? "No webhooks.\n"
                          : Table(hooks, {{"NAME", "name"},
                                          {"PENDING", "pending"},
                                          {"SENT", "events_sent"},
                                          {"DROPPED", "events_dropped"},
                                          {"LAST", "last_status"},
                                          {"LAST SUCCESS", "last_success"},
                                          {"URL", "url"}});
  } else if (verb == "webhook test") {
    const auto& status = Field(o, "status");
    r.out = fmt::format("{}: {}\n",
                        Field(o, "ok").is_bool() && Field(o, "ok").as_bool() ? "ok" : "failed",
                        Text(status) == "0" ? Text(Field(o, "reason")) : "HTTP " + Text(status));
  } else if (verb == "webhook replay") {
    r.out = fmt::format("{} records queued again\n", Text(Field(o, "queued")));
  } else if (verb == "warmup status") {
    const auto& sources = Array(o, "sources");
    if (sources.empty()) {
      r.out = "No source follows a warm-up plan.\n";
    } else {
      r.out = Table(
          sources, {{"SOURCE", "source"}, {"DAY", "day"}, {"CAP", "cap"}, {"SENT TODAY", "today"}});
    }
  } else {
    r.out = std::string(text);
  }
  return r;
}

}  // namespace sluice::app
