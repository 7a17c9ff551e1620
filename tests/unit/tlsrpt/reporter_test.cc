#include "tlsrpt/reporter.h"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/txt_resolver.h"

namespace sluice::tlsrpt {
namespace {

namespace asio = boost::asio;

struct Outbox {
  std::vector<std::pair<std::vector<std::string>, std::string>> sent;
  int refuse = 0;  // the next N submissions fail
};

asio::awaitable<std::string> Submit(Outbox* box, std::vector<std::string> rcpts,
                                    std::string message) {
  if (box->refuse > 0) {
    --box->refuse;
    co_return std::string("452 4.3.1 spool full");
  }
  box->sent.emplace_back(std::move(rcpts), std::move(message));
  co_return std::string();
}

class TlsRptReporterTest : public ::testing::Test {
 protected:
  TlsRptReporterTest() {
    resolver.txt["_smtp._tls.a.example"] = {
        "v=TLSRPTv1; rua=mailto:rpt@a.example,mailto:x@y.example"};
    resolver.txt["_smtp._tls.bad.example"] = {"v=TLSRPTv1; rua=ftp://a.example/"};
    ReporterOptions o;
    o.who = {"Sender", "postmaster@s.example", "s.example"};
    o.from = "noreply@s.example";
    o.max_attempts = 3;
    reporter = std::make_unique<Reporter>(
        ioc.get_executor(), clock, ledger, resolver,
        [this](std::vector<std::string> rcpts, std::string message) {
          return Submit(&box, std::move(rcpts), std::move(message));
        },
        nullptr, o, "");
  }
  // Sends what has ended and the open period; runs until done.
  std::size_t SendNow() {
    auto n = reporter->SendNow();
    EXPECT_TRUE(n);
    ioc.restart();
    ioc.run();
    return n.value_or(0);
  }
  std::size_t Waiting() {
    return boost::json::parse(reporter->Status()).at("waiting").to_number<std::size_t>();
  }

  asio::io_context ioc;
  ManualClock clock;
  Ledger ledger;
  testing::TxtResolver resolver;
  Outbox box;
  std::unique_ptr<Reporter> reporter;
};

// RFC 8460 §3, §5.3: only domains with a usable record get a report, by
// mail to every mailto: address at once.
TEST_F(TlsRptReporterTest, SendsToDomainsWithARecord) {
  ledger.Success(clock.Now(), "a.example", Policy{});
  ledger.Success(clock.Now(), "norecord.example", Policy{});
  ledger.Success(clock.Now(), "bad.example", Policy{});
  EXPECT_EQ(SendNow(), 3U);
  ASSERT_EQ(box.sent.size(), 1U);
  EXPECT_EQ(box.sent[0].first, (std::vector<std::string>{"rpt@a.example", "x@y.example"}));
  EXPECT_NE(box.sent[0].second.find("TLS-Report-Domain: a.example\r\n"), std::string::npos);
  EXPECT_EQ(Waiting(), 0U);
  EXPECT_TRUE(ledger.closed().empty());
  // Nothing new: nothing sent again.
  EXPECT_EQ(SendNow(), 0U);
  EXPECT_EQ(box.sent.size(), 1U);
}

// A record cannot turn one report into a mailing: five distinct rua at most;
// a non-ASCII mailbox is not used (the report is 7-bit mail).
TEST_F(TlsRptReporterTest, AtMostFiveRua) {
  resolver.txt["_smtp._tls.many.example"] = {
      "v=TLSRPTv1; rua=mailto:a@m.example,mailto:a@m.example,mailto:b@m.example,"
      "mailto:c@m.example,mailto:d@m.example,mailto:e@m.example,mailto:f@m.example"};
  resolver.txt["_smtp._tls.utf8.example"] = {
      "v=TLSRPTv1; rua=mailto:j\xc3\xb8rn@m.example,mailto:ok@m.example"};
  ledger.Success(clock.Now(), "many.example", Policy{});
  ledger.Success(clock.Now(), "utf8.example", Policy{});
  SendNow();
  ASSERT_EQ(box.sent.size(), 2U);
  EXPECT_EQ(box.sent[0].first,
            (std::vector<std::string>{"a@m.example", "b@m.example", "c@m.example", "d@m.example",
                                      "e@m.example"}));
  EXPECT_EQ(box.sent[1].first, std::vector<std::string>{"ok@m.example"});
}

// A DNS failure or a refused submission keeps the report for a later try.
TEST_F(TlsRptReporterTest, RetriesWhatFailed) {
  ledger.Success(clock.Now(), "a.example", Policy{});
  resolver.fail = true;
  SendNow();
  EXPECT_TRUE(box.sent.empty());
  EXPECT_EQ(Waiting(), 1U);
  resolver.fail = false;
  box.refuse = 1;
  SendNow();
  EXPECT_TRUE(box.sent.empty());
  EXPECT_EQ(Waiting(), 1U);
  SendNow();
  EXPECT_EQ(box.sent.size(), 1U);
  EXPECT_EQ(Waiting(), 0U);
}

TEST_F(TlsRptReporterTest, GivesUpAfterMaxAttempts) {
  ledger.Success(clock.Now(), "a.example", Policy{});
  resolver.fail = true;
  for (int i = 0; i < 3; ++i) {
    SendNow();
  }
  EXPECT_EQ(Waiting(), 0U);
  resolver.fail = false;
  SendNow();
  EXPECT_TRUE(box.sent.empty());
}

// The report goes once per period, even when it was cut early: sessions
// after the cut are in the next report, not this one again.
TEST_F(TlsRptReporterTest, EachSessionIsReportedOnce) {
  ledger.Success(clock.Now(), "a.example", Policy{});
  SendNow();
  clock.Advance(std::chrono::hours(1));
  ledger.Failure(clock.Now(), "a.example", Policy{}, {"starttls-not-supported", "", "mx", "ip"});
  SendNow();
  ASSERT_EQ(box.sent.size(), 2U);
  EXPECT_NE(box.sent[0].second, box.sent[1].second);
}

// RFC 8460 §4.1: once the UTC day is over, its reports go without being asked.
TEST_F(TlsRptReporterTest, SendsWhenTheDayEnds) {
  ReporterOptions o;
  o.who = {"Sender", "postmaster@s.example", "s.example"};
  o.from = "noreply@s.example";
  o.check_every = std::chrono::milliseconds(1);
  reporter = std::make_unique<Reporter>(
      ioc.get_executor(), clock, ledger, resolver,
      [this](std::vector<std::string> rcpts, std::string message) {
        return Submit(&box, std::move(rcpts), std::move(message));
      },
      nullptr, o, "");
  ledger.Success(clock.Now(), "a.example", Policy{});
  reporter->Start();
  const auto run_a_while = [&] {
    // Bounded: the loop wakes every millisecond; a few dozen wake-ups suffice.
    for (int i = 0; i < 50 && box.sent.empty(); ++i) {
      ioc.run_for(std::chrono::milliseconds(2));
    }
  };
  run_a_while();
  EXPECT_TRUE(box.sent.empty());  // the day is not over
  clock.Advance(std::chrono::hours(24));
  run_a_while();
  ASSERT_EQ(box.sent.size(), 1U);
  EXPECT_NE(box.sent[0].second.find("TLS-Report-Domain: a.example"), std::string::npos);
  reporter->Stop();
  ioc.run_for(std::chrono::milliseconds(5));
}

}  // namespace
}  // namespace sluice::tlsrpt
