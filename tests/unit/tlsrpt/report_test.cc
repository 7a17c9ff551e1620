#include "tlsrpt/report.h"

#include <zlib.h>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/base64.h"

namespace sluice::tlsrpt {
namespace {

namespace json = boost::json;

std::string Gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

const Organization kWho{"Example Sender", "postmaster@sender.example", "mta.sender.example"};

Period MixedDay() {
  Period p;
  p.start = 1796601600;  // 2026-12-07T00:00:00Z
  p.end = p.start + 86400;
  auto& d = p.domains["rcpt.example"];
  auto& sts =
      d.policies[Policy{"sts",
                        {"version: STSv1", "mode: testing", "mx: *.rcpt.example", "max_age: 86400"},
                        {"*.rcpt.example"}}];
  sts.successes = 7;
  sts.failures = 3;
  sts.details[{"certificate-expired", "192.0.2.1", "mx1.rcpt.example", "198.51.100.7"}] = 3;
  auto& none = d.policies[Policy{}];
  none.successes = 2;
  return p;
}

// RFC 8460 §4.4: the report's fields and their names.
TEST(TlsRptReport, JsonHasTheRfcFields) {
  const Period p = MixedDay();
  const json::object r =
      json::parse(ReportJson(kWho, p, "rcpt.example", p.domains.at("rcpt.example"))).as_object();
  EXPECT_EQ(r.at("organization-name"), "Example Sender");
  EXPECT_EQ(r.at("contact-info"), "postmaster@sender.example");
  EXPECT_EQ(r.at("date-range").at("start-datetime"), "2026-12-07T00:00:00Z");
  EXPECT_EQ(r.at("date-range").at("end-datetime"), "2026-12-08T00:00:00Z");
  EXPECT_EQ(r.at("report-id").as_string(), ReportId(kWho, p, "rcpt.example"));
  const auto& policies = r.at("policies").as_array();
  ASSERT_EQ(policies.size(), 2U);
  // Policies sort by type: "no-policy-found" before "sts".
  const auto& none = policies[0].as_object();
  EXPECT_EQ(none.at("policy").at("policy-type"), "no-policy-found");
  EXPECT_EQ(none.at("policy").at("policy-domain"), "rcpt.example");
  EXPECT_FALSE(none.contains("failure-details"));
  const auto& sts = policies[1].as_object();
  EXPECT_EQ(sts.at("policy").at("policy-type"), "sts");
  EXPECT_EQ(sts.at("policy").at("policy-string").as_array().size(), 4U);
  EXPECT_EQ(sts.at("policy").at("mx-host").as_array()[0], "*.rcpt.example");
  EXPECT_EQ(sts.at("summary").at("total-successful-session-count"), 7);
  EXPECT_EQ(sts.at("summary").at("total-failure-session-count"), 3);
  const auto& f = sts.at("failure-details").as_array()[0].as_object();
  EXPECT_EQ(f.at("result-type"), "certificate-expired");
  EXPECT_EQ(f.at("sending-mta-ip"), "192.0.2.1");
  EXPECT_EQ(f.at("receiving-mx-hostname"), "mx1.rcpt.example");
  EXPECT_EQ(f.at("receiving-ip"), "198.51.100.7");
  EXPECT_EQ(f.at("failed-session-count"), 3);
}

// RFC 8460 §5.1: gzip (RFC 1952).
TEST(TlsRptReport, GzipRoundTrips) {
  const std::string text(5000, 'x');
  const std::string gz = Gzip(text);
  ASSERT_GE(gz.size(), 2U);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  EXPECT_LT(gz.size(), text.size());
  EXPECT_EQ(Gunzip(gz), text);
  EXPECT_EQ(Gunzip(Gzip("")), "");
}

// RFC 8460 §5.3: the mail's headers, media types and file name.
TEST(TlsRptReport, MailCarriesTheReport) {
  const Period p = MixedDay();
  const std::string gz = Gzip("{}");
  const std::string m =
      BuildMail(kWho, p, "rcpt.example",
                {"noreply@sender.example",
                 {"tlsrpt@rcpt.example", "other@x.example"},
                 std::chrono::system_clock::time_point(std::chrono::seconds(p.end + 60))},
                gz);
  const std::string id = ReportId(kWho, p, "rcpt.example");
  EXPECT_NE(m.find("\r\nSubject: Report Domain: rcpt.example Submitter: mta.sender.example "
                   "Report-ID: <" +
                   id + ">\r\n"),
            std::string::npos);
  EXPECT_NE(m.find("\r\nTLS-Report-Domain: rcpt.example\r\n"), std::string::npos);
  EXPECT_NE(m.find("\r\nTLS-Report-Submitter: mta.sender.example\r\n"), std::string::npos);
  EXPECT_NE(m.find("\r\nTLS-Required: No\r\n"), std::string::npos);
  EXPECT_NE(m.find("\r\nTo: tlsrpt@rcpt.example,\r\n other@x.example\r\n"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: multipart/report; report-type=\"tlsrpt\";"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: application/tlsrpt+gzip\r\n"), std::string::npos);
  EXPECT_NE(m.find("filename=\"mta.sender.example!rcpt.example!1796601600!1796688000.json.gz\""),
            std::string::npos);
  EXPECT_NE(m.find(Base64Encode(gz)), std::string::npos);
  for (std::size_t at = 0, next; (next = m.find("\r\n", at)) != std::string::npos; at = next + 2) {
    EXPECT_LE(next - at, 998U);  // RFC 5322 §2.1.1
  }
  EXPECT_EQ(m.find('\n', 0), m.find("\r\n") + 1);
}

TEST(TlsRptReport, MailtoAddress) {
  EXPECT_EQ(MailtoAddress("mailto:tlsrpt@example.com"), "tlsrpt@example.com");
  EXPECT_EQ(MailtoAddress("MAILTO:tls%2Drpt@example.com?subject=x"), "tls-rpt@example.com");
  EXPECT_EQ(MailtoAddress("https://example.com/"), "");
  EXPECT_EQ(MailtoAddress("mailto:a%4"), "a%4");
  EXPECT_EQ(MailtoAddress("Mailto:r@example.com"), "r@example.com");
}

}  // namespace
}  // namespace sluice::tlsrpt
