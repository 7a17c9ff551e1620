#include "suppression/csv.h"

#include "core/ascii.h"
#include "core/time_format.h"

namespace sluice::suppression {

const char* const kCsvHeader = "address,reason,tenant,campaign,created,expires,source,detail";

namespace {

constexpr std::string_view kNames[] = {"address", "reason",  "tenant", "campaign",
                                       "created", "expires", "source", "detail"};

void AppendField(std::string& out, std::string_view f) {
  // Quoted too: a leading '#' (a comment line to a reader) and spaces at
  // either end (which a reader trims).
  const bool plain = f.find_first_of(",\"\r\n") == std::string_view::npos &&
                     (f.empty() || (f.front() != '#' && f.front() != ' ' && f.back() != ' '));
  if (plain) {
    out.append(f);
    return;
  }
  out.push_back('"');
  for (char c : f) {
    if (c == '"') {
      out.push_back('"');
    }
    // A line break inside would split the record for a line reader: a space.
    out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  }
  out.push_back('"');
}

std::string Time(std::chrono::system_clock::time_point t) {
  return t.time_since_epoch().count() == 0 ? std::string() : Rfc3339Micros(t);
}

}  // namespace

std::string ToCsv(const Entry& e) {
  std::string out;
  const std::string created = Time(e.created);
  const std::string expires = Time(e.expires);
  const std::string_view fields[] = {
      e.address, ToString(e.reason), e.scope.tenant, e.scope.campaign, created,
      expires,   e.source,           e.detail};
  for (std::size_t i = 0; i < std::size(fields); ++i) {
    if (i != 0) {
      out.push_back(',');
    }
    AppendField(out, fields[i]);
  }
  return out;
}

Result<std::vector<std::string>, std::string> SplitCsv(std::string_view line) {
  std::vector<std::string> fields;
  const std::size_t n = line.size();
  std::size_t i = 0;
  while (true) {
    while (i < n && (line[i] == ' ' || line[i] == '\t')) {
      ++i;  // spaces before a field are not part of it
    }
    std::string f;
    if (i < n && line[i] == '"') {
      // Quoted: as written, "" for a quote; up to the next comma after it.
      bool closed = false;
      for (++i; i < n; ++i) {
        if (line[i] != '"') {
          f.push_back(line[i]);
        } else if (i + 1 < n && line[i + 1] == '"') {
          f.push_back('"');
          ++i;
        } else {
          closed = true;
          ++i;
          break;
        }
      }
      if (!closed) {
        return Fail(std::string("a quoted field is not closed"));
      }
      while (i < n && line[i] != ',') {
        ++i;
      }
    } else {
      const std::size_t start = i;
      while (i < n && line[i] != ',') {
        ++i;
      }
      f.assign(line.substr(start, i - start));
      while (!f.empty() && (f.back() == ' ' || f.back() == '\t')) {
        f.pop_back();
      }
    }
    fields.push_back(std::move(f));
    if (i >= n) {
      return fields;
    }
    ++i;  // the comma
  }
}

Result<std::optional<Entry>, std::string> CsvReader::Line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  const bool first = first_;
  first_ = false;
  if (line.find_first_not_of(" \t") == std::string_view::npos || line.front() == '#') {
    first_ = first;  // a header may still follow a comment
    return std::optional<Entry>();
  }
  auto split = SplitCsv(line);
  if (!split) {
    return Fail(split.error());
  }
  std::vector<std::string>& f = split.value();
  if (first && AsciiLower(f[0]) == "address") {
    for (const auto& name : f) {
      Column col = Column::kIgnored;
      for (std::size_t i = 0; i < std::size(kNames); ++i) {
        if (AsciiLower(name) == kNames[i]) {
          col = static_cast<Column>(i);
        }
      }
      columns_.push_back(col);
    }
    return std::optional<Entry>();
  }
  Entry e = defaults_;
  e.created = now_;
  for (std::size_t i = 0; i < f.size(); ++i) {
    const Column col = columns_.empty()
                           ? (i < std::size(kNames) ? static_cast<Column>(i) : Column::kIgnored)
                           : (i < columns_.size() ? columns_[i] : Column::kIgnored);
    std::string& v = f[i];
    switch (col) {
      case Column::kAddress: {
        auto key = Key(v);
        if (!key) {
          return Fail("not an address or domain: \"" + v.substr(0, 200) + "\"");
        }
        e.address = std::move(*key);
        break;
      }
      case Column::kReason:
        if (!v.empty()) {
          auto r = ParseReason(v);
          if (!r) {
            return Fail("reason \"" + v.substr(0, 40) +
                        "\" is not hard-bounce, soft-bounce, complaint, unsubscribe or manual");
          }
          e.reason = *r;
        }
        break;
      case Column::kTenant:
        if (!v.empty()) {
          e.scope.tenant = std::move(v);
        }
        break;
      case Column::kCampaign:
        if (!v.empty()) {
          e.scope.campaign = std::move(v);
        }
        break;
      case Column::kCreated:
      case Column::kExpires:
        if (!v.empty()) {
          auto t = ParseRfc3339(v);
          if (!t) {
            return Fail("\"" + v.substr(0, 40) + "\" is not an RFC 3339 time");
          }
          (col == Column::kCreated ? e.created : e.expires) = *t;
        }
        break;
      case Column::kSource:
        if (!v.empty()) {
          e.source = std::move(v);
        }
        break;
      case Column::kDetail:
        if (!v.empty()) {
          e.detail = std::move(v);
        }
        break;
      case Column::kIgnored:
        break;
    }
  }
  if (e.address.empty()) {
    return Fail(std::string("no address"));
  }
  if (!e.scope.campaign.empty() && e.scope.tenant.empty()) {
    return Fail(std::string("a campaign list belongs to a tenant: the tenant is missing"));
  }
  if (held_tenant_ && e.scope.tenant != *held_tenant_) {
    return Fail("this import may name tenant " + *held_tenant_ + " only");
  }
  if (!Valid(e.scope)) {
    return Fail("not a tenant or campaign name: \"" + e.scope.tenant.substr(0, 70) + "\" / \"" +
                e.scope.campaign.substr(0, 70) + "\"");
  }
  return std::optional<Entry>(std::move(e));
}

}  // namespace sluice::suppression
