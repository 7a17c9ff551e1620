#include "dmarc/intake.h"

#include <spdlog/spdlog.h>

#include "core/ascii.h"
#include "core/base64.h"
#include "dmarc/unpack.h"
#include "message/mime.h"

namespace sluice::dmarc {
namespace {

namespace mime = message::mime;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Whether a part with this media type and file name may hold a report.
bool MayBeReport(const std::string& type, const std::string& filename) {
  const std::string name = AsciiLower(filename);
  for (const char* t :
       {"application/gzip", "application/x-gzip", "application/zip", "application/x-zip-compressed",
        "application/x-zip", "text/xml", "application/xml"}) {
    if (type == t) {
      return true;
    }
  }
  return EndsWith(name, ".xml") || EndsWith(name, ".xml.gz") || EndsWith(name, ".gz") ||
         EndsWith(name, ".zip");
}

std::string Decoded(std::string_view body, const std::string& encoding) {
  if (AsciiLower(encoding) != "base64") {
    return std::string(body);
  }
  std::string compact;
  compact.reserve(body.size());
  for (char c : body) {
    if (c != '\r' && c != '\n' && c != ' ' && c != '\t') {
      compact.push_back(c);
    }
  }
  return Base64Decode(compact).value_or("");
}

void Walk(std::string_view entity, int depth, std::vector<std::string>& out) {
  if (depth > mime::kMaxDepth || out.size() >= kMaxAttachments) {
    return;
  }
  const mime::Entity e = mime::Split(entity);
  const auto fields = mime::Fields(e.headers);
  const std::string ctype = mime::Value(fields, "Content-Type");
  const std::string type = mime::MediaType(ctype);
  if (type.rfind("multipart/", 0) == 0) {
    const std::string boundary = mime::Param(ctype, "boundary");
    if (boundary.empty()) {
      return;
    }
    mime::WalkMultipart(
        e.body, boundary, [](std::string_view) {}, [](std::string_view) {},
        [&](std::string_view part) {
          Walk(part, depth + 1, out);
          return out.size() < kMaxAttachments;
        });
    return;
  }
  std::string filename = mime::Param(mime::Value(fields, "Content-Disposition"), "filename");
  if (filename.empty()) {
    filename = mime::Param(ctype, "name");
  }
  if (!MayBeReport(type, filename)) {
    return;
  }
  std::string bytes = Decoded(e.body, mime::Value(fields, "Content-Transfer-Encoding"));
  if (!bytes.empty()) {
    out.push_back(std::move(bytes));
  }
}

}  // namespace

std::vector<std::string> ReportAttachments(std::string_view message) {
  std::vector<std::string> out;
  Walk(message, 0, out);
  return out;
}

bool Intake::Ours(const std::string& domain) const {
  for (const auto& d : domains_) {
    if (domain == d || (domain.size() > d.size() && EndsWith(domain, "." + d))) {
      return true;
    }
  }
  return false;
}

Intake::Taken Intake::Take(std::string_view message, std::int64_t now) {
  Taken t;
  for (const auto& bytes : ReportAttachments(message)) {
    auto xml = Unpack(bytes, limits_.max_bytes);
    if (!xml) {
      ++refused_;
      t.problems.push_back(xml.error());
      continue;
    }
    {
      std::lock_guard lock(day_mu_);
      if (now / 86400 != day_) {
        day_ = now / 86400;
        bytes_today_ = 0;
      }
      if (bytes_today_ + xml->size() > max_daily_bytes_) {
        ++refused_;
        t.problems.push_back("today's report volume is used up (" +
                             std::to_string(max_daily_bytes_) + " bytes)");
        continue;
      }
      bytes_today_ += xml->size();
    }
    auto report = ParseAggregate(*xml, limits_);
    if (!report) {
      ++refused_;
      t.problems.push_back(report.error());
      continue;
    }
    if (!Ours(report->domain)) {
      ++refused_;
      t.problems.push_back("a report for " + report->domain + ", not a domain of ours");
      continue;
    }
    if (auto why = store_.Refuse(*report, now)) {
      ++refused_;
      t.problems.push_back(*why);
      continue;
    }
    auto added = store_.Add(*report, now);
    if (!added) {
      t.problems.push_back(added.error());
      t.try_later = true;
      continue;
    }
    ++t.reports;
    if (*added == Store::Added::kDuplicate) {
      ++duplicates_;
      continue;
    }
    ++stored_;
    spdlog::info("dmarc: report {} from {} for {} ({} records)", report->report_id,
                 report->org_name, report->domain, report->rows.size());
    if (on_stored_) {
      on_stored_(*report);
    }
  }
  return t;
}

}  // namespace sluice::dmarc
