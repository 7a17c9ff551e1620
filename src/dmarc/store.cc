#include "dmarc/store.h"

#include <filesystem>
#include <map>

#include <boost/json.hpp>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "spool/rocks_logger.h"

namespace sluice::dmarc {
namespace {

namespace json = boost::json;

// "r" + 8-byte big-endian begin + org + NUL + report id: the reports by time.
std::string ReportKey(const AggregateReport& r) {
  std::string k = "r";
  for (int i = 7; i >= 0; --i) {
    k.push_back(static_cast<char>((static_cast<std::uint64_t>(r.begin) >> (8 * i)) & 0xff));
  }
  return k + r.org_name + '\0' + r.report_id;
}
std::string TimeKey(std::int64_t t) {
  std::string k = "r";
  for (int i = 7; i >= 0; --i) {
    k.push_back(static_cast<char>((static_cast<std::uint64_t>(t) >> (8 * i)) & 0xff));
  }
  return k;
}
// "i" + org + NUL + report id -> the report key: the same report twice.
std::string IdKey(const AggregateReport& r) {
  return "i" + r.org_name + '\0' + r.report_id;
}

json::array Auth(const std::vector<AuthResult>& results) {
  json::array a;
  for (const auto& x : results) {
    a.push_back(json::object{
        {"domain", x.domain}, {"selector", x.selector}, {"scope", x.scope}, {"result", x.result}});
  }
  return a;
}

std::string Str(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}
std::int64_t Int(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_int64() ? it->value().as_int64() : 0;
}

struct Tally {
  std::uint64_t messages = 0, pass = 0, fail = 0, dkim = 0, spf = 0;
  void Add(const Row& r) {
    messages += r.count;
    (r.Passed() ? pass : fail) += r.count;
    dkim += r.dkim == "pass" ? r.count : 0;
    spf += r.spf == "pass" ? r.count : 0;
  }
  json::object Json() const {
    json::object o{{"messages", messages},
                   {"pass", pass},
                   {"fail", fail},
                   {"dkim_aligned", dkim},
                   {"spf_aligned", spf}};
    // The share of messages passing DMARC (null: none counted).
    o["pass_rate"] = messages == 0
                         ? json::value(nullptr)
                         : json::value(static_cast<double>(pass) / static_cast<double>(messages));
    return o;
  }
};

}  // namespace

std::string Encode(const AggregateReport& r) {
  json::array rows;
  for (const auto& x : r.rows) {
    json::array reasons;
    for (const auto& reason : x.reasons) {
      reasons.emplace_back(reason);
    }
    rows.push_back(json::object{{"ip", x.source_ip},
                                {"count", x.count},
                                {"disposition", x.disposition},
                                {"dkim", x.dkim},
                                {"spf", x.spf},
                                {"reasons", std::move(reasons)},
                                {"header_from", x.header_from},
                                {"envelope_from", x.envelope_from},
                                {"dkim_results", Auth(x.dkim_results)},
                                {"spf_results", Auth(x.spf_results)}});
  }
  return json::serialize(json::object{{"org", r.org_name},
                                      {"email", r.email},
                                      {"id", r.report_id},
                                      {"begin", r.begin},
                                      {"end", r.end},
                                      {"domain", r.domain},
                                      {"adkim", r.adkim},
                                      {"aspf", r.aspf},
                                      {"p", r.p},
                                      {"sp", r.sp},
                                      {"pct", r.pct},
                                      {"rows", std::move(rows)}});
}

Result<AggregateReport, std::string> Decode(std::string_view stored) {
  boost::system::error_code ec;
  json::value v = json::parse(stored, ec);
  if (ec || !v.is_object()) {
    return Fail(std::string("a damaged stored report"));
  }
  const auto& o = v.as_object();
  AggregateReport r;
  r.org_name = Str(o, "org");
  r.email = Str(o, "email");
  r.report_id = Str(o, "id");
  r.begin = Int(o, "begin");
  r.end = Int(o, "end");
  r.domain = Str(o, "domain");
  r.adkim = Str(o, "adkim");
  r.aspf = Str(o, "aspf");
  r.p = Str(o, "p");
  r.sp = Str(o, "sp");
  r.pct = static_cast<int>(Int(o, "pct"));
  if (auto it = o.find("rows"); it != o.end() && it->value().is_array()) {
    for (const auto& rv : it->value().as_array()) {
      if (!rv.is_object()) {
        continue;
      }
      const auto& ro = rv.as_object();
      Row row;
      row.source_ip = Str(ro, "ip");
      row.count = static_cast<std::uint64_t>(std::max<std::int64_t>(0, Int(ro, "count")));
      if (auto c = ro.find("count"); c != ro.end() && c->value().is_uint64()) {
        row.count = c->value().as_uint64();
      }
      row.disposition = Str(ro, "disposition");
      row.dkim = Str(ro, "dkim");
      row.spf = Str(ro, "spf");
      row.header_from = Str(ro, "header_from");
      row.envelope_from = Str(ro, "envelope_from");
      r.rows.push_back(std::move(row));
    }
  }
  return r;
}

Result<std::unique_ptr<Store>, std::string> Store::Open(const StoreOptions& opts) {
  std::error_code ec;
  std::filesystem::create_directories(opts.path, ec);
  if (ec) {
    return Fail("cannot create the DMARC report directory " + opts.path + ": " + ec.message());
  }
  rocksdb::Options o;
  o.create_if_missing = true;
  o.info_log = spool::MakeRocksLogger();
  o.max_open_files = 64;
  o.max_total_wal_size = 16u << 20;
  o.write_buffer_size = 4u << 20;
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(o, opts.path, &raw);
  if (!st.ok()) {
    return Fail("cannot open DMARC reports " + opts.path + ": " + st.ToString());
  }
  std::unique_ptr<Store> s(new Store(opts));
  s->db_.reset(raw);
  return s;
}

Store::Store(StoreOptions opts) : opts_(std::move(opts)) {}
Store::~Store() = default;

std::optional<std::string> Store::Refuse(const AggregateReport& r, std::int64_t now) const {
  const std::int64_t keep =
      std::chrono::duration_cast<std::chrono::seconds>(opts_.retention).count();
  if (r.end - r.begin > 31 * 86400) {
    return "a reporting period longer than 31 days";
  }
  if (r.begin < now - keep) {
    return "a period older than the retention";
  }
  if (r.begin > now + 86400) {
    return "a period in the future";
  }
  return std::nullopt;
}

Result<Store::Added, std::string> Store::Add(const AggregateReport& r, std::int64_t now) {
  std::lock_guard lock(mu_);
  std::string existing;
  if (db_->Get(rocksdb::ReadOptions(), IdKey(r), &existing).ok()) {
    return Added::kDuplicate;
  }
  rocksdb::WriteBatch wb;
  const std::string key = ReportKey(r);
  wb.Put(key, Encode(r)).PermitUncheckedError();
  wb.Put(IdKey(r), key).PermitUncheckedError();
  rocksdb::WriteOptions wo;
  wo.sync = true;  // the report's mail is answered 250 after this
  auto st = db_->Write(wo, &wb);
  if (!st.ok()) {
    return Fail("cannot store the report: " + st.ToString());
  }
  Prune(now);
  return Added::kStored;
}

void Store::Prune(std::int64_t now) {
  const std::int64_t cutoff =
      now - std::chrono::duration_cast<std::chrono::seconds>(opts_.retention).count();
  if (cutoff <= 0) {
    return;
  }
  // The id keys of what goes, then the reports (a range).
  rocksdb::ReadOptions ro;
  const std::string end = TimeKey(cutoff);
  const rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  rocksdb::WriteBatch wb;
  std::size_t n = 0;
  for (it->Seek("r"); it->Valid() && n < 10000; it->Next(), ++n) {
    const std::string_view k(it->key().data(), it->key().size());
    wb.Delete("i" + std::string(k.substr(9))).PermitUncheckedError();
    wb.Delete(it->key()).PermitUncheckedError();
  }
  if (n > 0) {
    db_->Write(rocksdb::WriteOptions(), &wb).PermitUncheckedError();
  }
}

std::string Store::Summarize(const Query& q) const {
  struct Source {
    Tally tally;
    std::set<std::string> reporters;
  };
  struct Domain {
    Tally all, own, other, omitted;
    std::map<std::string, std::uint64_t> dispositions;
    std::map<std::string, Source> sources;
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> reporters;  // reports, messages
  };
  std::map<std::string, Domain> domains;
  std::size_t reports = 0;
  bool truncated = false;
  rocksdb::ReadOptions ro;
  const std::string end = TimeKey(q.to);
  const rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  std::size_t rows = 0;
  for (it->Seek(TimeKey(q.from)); it->Valid(); it->Next()) {
    if (reports >= q.max_reports || rows >= q.max_rows) {
      truncated = true;
      break;
    }
    auto r = Decode(std::string_view(it->value().data(), it->value().size()));
    if (!r || (!q.domain.empty() && r->domain != q.domain)) {
      continue;
    }
    ++reports;
    Domain& d = domains[r->domain];
    auto& by_org = d.reporters[r->org_name];
    ++by_org.first;
    rows += r->rows.size();
    for (const auto& row : r->rows) {
      const bool own = q.own.count(row.source_ip) != 0;
      d.all.Add(row);
      (own ? d.own : d.other).Add(row);
      d.dispositions[row.disposition.empty() ? "none" : row.disposition] += row.count;
      auto src = d.sources.find(row.source_ip);
      if (src == d.sources.end() && d.sources.size() >= q.max_sources) {
        d.omitted.Add(row);  // so many sources: the rest summed apart
      } else {
        Source& s = d.sources[row.source_ip];
        s.tally.Add(row);
        s.reporters.insert(r->org_name);
      }
      by_org.second += row.count;
    }
  }
  json::array out;
  for (auto& [name, d] : domains) {
    json::array sources;
    for (auto& [ip, s] : d.sources) {
      json::object o = s.tally.Json();
      o["ip"] = ip;
      o["own"] = q.own.count(ip) != 0;
      json::array orgs;
      for (const auto& org : s.reporters) {
        orgs.emplace_back(org);
      }
      o["reporters"] = std::move(orgs);
      sources.push_back(std::move(o));
    }
    json::array reporters;
    for (const auto& [org, n] : d.reporters) {
      reporters.push_back(json::object{{"org", org}, {"reports", n.first}, {"messages", n.second}});
    }
    json::object dispositions;
    for (const auto& [k, n] : d.dispositions) {
      dispositions[k] = n;
    }
    json::object o = d.all.Json();
    o["domain"] = name;
    o["dispositions"] = std::move(dispositions);
    o["own"] = d.own.Json();
    o["other"] = d.other.Json();
    o["sources"] = std::move(sources);
    o["sources_omitted"] = d.omitted.Json();
    o["reporters"] = std::move(reporters);
    out.push_back(std::move(o));
  }
  return json::serialize(
      json::object{{"reports", reports}, {"truncated", truncated}, {"domains", std::move(out)}});
}

}  // namespace sluice::dmarc
