#include "tlsrpt/report.h"

#include <zlib.h>

#include <stdexcept>

#include <boost/json.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include "core/ascii.h"
#include "core/base64.h"
#include "core/time_format.h"

namespace sluice::tlsrpt {

namespace json = boost::json;

namespace {

std::string DateTime(std::int64_t seconds) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                     std::chrono::sys_seconds(std::chrono::seconds(seconds)));
}

json::array Strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) {
    a.emplace_back(s);
  }
  return a;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = static_cast<char>(c | 0x20);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

}  // namespace

std::string ReportId(const Organization& who, const Period& period, std::string_view domain) {
  return fmt::format("{}-{}.{}@{}", period.start, period.end, domain, who.submitter);
}

std::string ReportJson(const Organization& who, const Period& period, std::string_view domain,
                       const DomainCounts& counts) {
  json::array policies;
  for (const auto& [policy, c] : counts.policies) {
    json::object p{{"policy-type", policy.type}, {"policy-domain", domain}};
    if (!policy.strings.empty()) {
      p["policy-string"] = Strings(policy.strings);
    }
    if (!policy.mx_hosts.empty()) {
      p["mx-host"] = Strings(policy.mx_hosts);
    }
    json::object entry{{"policy", std::move(p)},
                       {"summary", json::object{{"total-successful-session-count", c.successes},
                                                {"total-failure-session-count", c.failures}}}};
    if (!c.details.empty()) {
      json::array details;
      for (const auto& [f, n] : c.details) {
        json::object d{{"result-type", f.result_type}, {"failed-session-count", n}};
        if (!f.sending_ip.empty()) {
          d["sending-mta-ip"] = f.sending_ip;
        }
        if (!f.receiving_mx.empty()) {
          d["receiving-mx-hostname"] = f.receiving_mx;
        }
        if (!f.receiving_ip.empty()) {
          d["receiving-ip"] = f.receiving_ip;
        }
        details.push_back(std::move(d));
      }
      entry["failure-details"] = std::move(details);
    }
    policies.push_back(std::move(entry));
  }
  json::object report{{"organization-name", who.organization},
                      {"date-range", json::object{{"start-datetime", DateTime(period.start)},
                                                  {"end-datetime", DateTime(period.end)}}},
                      {"contact-info", who.contact},
                      {"report-id", ReportId(who, period, domain)},
                      {"policies", std::move(policies)}};
  return json::serialize(report);
}

std::string Gzip(std::string_view data) {
  z_stream z{};
  // 15 + 16: a gzip wrapper rather than zlib's.
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("zlib: deflateInit2 failed");
  }
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    throw std::runtime_error("zlib: deflate did not finish");
  }
  return out;
}

std::string FileName(const Organization& who, const Period& period, std::string_view domain) {
  return fmt::format("{}!{}!{}!{}.json.gz", who.submitter, domain, period.start, period.end);
}

std::string BuildMail(const Organization& who, const Period& period, std::string_view domain,
                      const ReportMail& mail, std::string_view gzipped) {
  const std::string id = ReportId(who, period, domain);
  const std::string boundary = fmt::format("tlsrpt-{}-{}", period.start, period.end);
  std::string to;
  for (const auto& a : mail.to) {
    to += (to.empty() ? "" : ",\r\n ") + a;
  }
  std::string m;
  m += "From: " + mail.from + "\r\n";
  m += "To: " + to + "\r\n";
  m += "Date: " + Rfc5322Date(mail.date) + "\r\n";
  m += "Message-ID: <" + id + ">\r\n";
  m += fmt::format("Subject: Report Domain: {} Submitter: {} Report-ID: <{}>\r\n", domain,
                   who.submitter, id);
  m += fmt::format("TLS-Report-Domain: {}\r\n", domain);
  m += fmt::format("TLS-Report-Submitter: {}\r\n", who.submitter);
  // RFC 8460 §5.3 / RFC 8689 §5: a report about TLS trouble must get through it.
  m += "TLS-Required: No\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n boundary=\"" + boundary +
       "\"\r\n\r\n";
  m += "This is a multipart message in MIME format.\r\n\r\n";
  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
  m += fmt::format(
      "This is an aggregate TLS report (RFC 8460) from {} about mail sent to {}\r\n"
      "from {} to {} (UTC).\r\n\r\n",
      who.submitter, domain, DateTime(period.start), DateTime(period.end));
  m += "--" + boundary + "\r\n";
  m += "Content-Type: application/tlsrpt+gzip\r\n";
  m += "Content-Transfer-Encoding: base64\r\n";
  m += "Content-Disposition: attachment;\r\n filename=\"" + FileName(who, period, domain) +
       "\"\r\n\r\n";
  const std::string b64 = Base64Encode(gzipped);
  for (std::size_t i = 0; i < b64.size(); i += 76) {
    m += b64.substr(i, 76) + "\r\n";
  }
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

std::string MailtoAddress(std::string_view uri) {
  if (uri.size() < 7 || AsciiLower(uri.substr(0, 7)) != "mailto:") {
    return "";
  }
  uri.remove_prefix(7);
  uri = uri.substr(0, uri.find('?'));
  std::string out;
  for (std::size_t i = 0; i < uri.size(); ++i) {
    if (uri[i] == '%' && i + 2 < uri.size() && HexDigit(uri[i + 1]) >= 0 &&
        HexDigit(uri[i + 2]) >= 0) {
      out += static_cast<char>(HexDigit(uri[i + 1]) * 16 + HexDigit(uri[i + 2]));
      i += 2;
    } else {
      out += uri[i];
    }
  }
  return out;
}

}  // namespace sluice::tlsrpt
