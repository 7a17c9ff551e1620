// The dispatcher with fake parts: connections that answer from a script, a
// resolver from a table, a spool in memory, a manual clock. No sockets and
// no sleeps: the io_context runs until a condition holds, with a deadline.
#include "delivery/dispatcher.h"

#include <deque>
#include <functional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "support/event_log.h"
#include "support/memory_spool.h"

namespace sluice::delivery {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// What the fake receivers do.
struct Script {
  std::set<std::string> refusing;  // addresses whose connections fail
  std::string tls_version;         // of the connections made ("": no TLS)
  std::deque<int> replies;         // one per transaction, then 250s
  bool gated = false;              // transactions wait until Release()
  std::unique_ptr<asio::steady_timer> gate;
  int opened = 0;
  int refused = 0;
  int transactions = 0;
  int waiting = 0;
  std::vector<std::string> hosts_used;
  std::vector<std::string> bodies;
};

class FakeConnection final : public Connection {
 public:
  FakeConnection(Script& s, std::string ip, std::string host)
      : s_(s), ip_(std::move(ip)), host_(std::move(host)) {
    tls_.version = s.tls_version;
  }
  asio::awaitable<smtp::TransactionResult> Send(const Envelope&,
                                                const std::vector<std::size_t>& rcpts,
                                                const smtp::MessageBody& body) override {
    ++s_.transactions;
    while (s_.gated) {
      ++s_.waiting;
      co_await s_.gate->async_wait(asio::as_tuple(asio::use_awaitable));
      --s_.waiting;
    }
    std::string piece;
    body.read(0, piece);
    s_.bodies.push_back(piece);
    s_.hosts_used.push_back(host_);
    int code = 250;
    if (!s_.replies.empty()) {
      code = s_.replies.front();
      s_.replies.pop_front();
    }
    smtp::TransactionResult r;
    r.recipients.assign(rcpts.size(), smtp::Reply{code,
                                                  code == 250   ? "2.0.0"
                                                  : code >= 500 ? "5.0.0"
                                                                : "4.0.0",
                                                  "scripted"});
    co_return r;
  }
  asio::awaitable<void> Quit() override { co_return; }
  bool usable() const override { return true; }
  const std::string& mx_host() const override { return host_; }
  const std::string& peer_ip() const override { return ip_; }
  const tls::SessionInfo& tls_info() const override { return tls_; }
  bool speaks_dsn() const override { return true; }

 private:
  Script& s_;
  std::string ip_;
  std::string host_;
  tls::SessionInfo tls_;
};

class FakeConnector final : public Connector {
 public:
  explicit FakeConnector(Script& s) : s_(s) {}
  asio::awaitable<Result<std::unique_ptr<Connection>, smtp::ConnectFailure>> Open(
      std::string ip, std::uint16_t, std::string mx_host, smtp::ClientOptions) override {
    if (s_.refusing.count(ip) != 0) {
      ++s_.refused;
      smtp::ConnectFailure f;
      f.detail = "connection refused";
      co_return Fail(f);
    }
    ++s_.opened;
    std::unique_ptr<Connection> c = std::make_unique<FakeConnection>(s_, ip, mx_host);
    co_return c;
  }

 private:
  Script& s_;
};

class TableResolver final : public dns::Resolver {
 public:
  std::map<std::string, std::vector<std::string>> mx;  // domain -> MX host names
  std::map<std::string, std::string> a;                // host -> address
  asio::awaitable<Result<dns::MxSet, dns::DnsError>> ResolveMx(std::string d) override {
    auto it = mx.find(d);
    if (it == mx.end()) {
      co_return Fail(dns::DnsError::kNxDomain);
    }
    dns::MxSet s;
    std::uint16_t pref = 10;
    for (const auto& h : it->second) {
      s.hosts.push_back({pref++, h});
    }
    co_return s;
  }
  asio::awaitable<Result<std::vector<std::string>, dns::DnsError>> ResolveAddresses(
      std::string h) override {
    auto it = a.find(h);
    if (it == a.end()) {
      co_return Fail(dns::DnsError::kNxDomain);
    }
    co_return std::vector<std::string>{it->second};
  }
  asio::awaitable<Result<std::vector<std::string>, dns::DnsError>> ResolveTxt(
      std::string) override {
    co_return Fail(dns::DnsError::kNxDomain);
  }
  asio::awaitable<Result<std::vector<std::string>, dns::DnsError>> ResolvePtr(
      std::string) override {
    co_return Fail(dns::DnsError::kNxDomain);
  }
};

struct Lab {
  asio::io_context ioc;
  ManualClock clock{std::chrono::system_clock::now(), std::chrono::steady_clock::now()};
  testing::MemorySpool spool;
  events::Bus bus;
  testing::EventLog log{bus};
  TableResolver resolver;
  Script script;
  FakeConnector connector{script};
  std::unique_ptr<queue::Manager> queue;
  std::unique_ptr<shaping::Shaper> shaper;
  tlsrpt::Ledger tls_reports;
  std::unique_ptr<Dispatcher> dispatcher;

  explicit Lab(Options opts = Defaults()) {
    queue::ManagerOptions qo;
    qo.retry.jitter = 0;
    queue = std::make_unique<queue::Manager>(clock, qo, spool, bus);
    shaper = std::make_unique<shaping::Shaper>(clock, shaping::ShaperOptions{}, nullptr);
    script.gate = std::make_unique<asio::steady_timer>(ioc);
    script.gate->expires_at(asio::steady_timer::time_point::max());
    resolver.mx["example.com"] = {"mx1.example.com", "mx2.example.com"};
    resolver.a["mx1.example.com"] = "192.0.2.1";
    resolver.a["mx2.example.com"] = "192.0.2.2";
    dispatcher = std::make_unique<Dispatcher>(
        ioc, opts,
        Parts{clock, *queue, *shaper, resolver, spool, bus, connector, nullptr, nullptr, {},
              &tls_reports});
    dispatcher->Start();
  }
  static Options Defaults() {
    Options o;
    o.idle_timeout = 0ms;  // connections close when their queue is empty
    o.connection_limit = 1;
    return o;
  }
  void Send(int n, const std::string& rcpt = "user@example.com") {
    for (int i = 0; i < n; ++i) {
      dispatcher->Submit(spool.Put({rcpt}, ToMicros(clock.Now())));
    }
  }
  bool RunUntil(const std::function<bool()>& done, std::chrono::seconds deadline = 10s) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!done() && std::chrono::steady_clock::now() < until) {
      ioc.run_for(5ms);
    }
    return done();
  }
  void Release() {
    script.gated = false;
    script.gate->cancel();
  }
  std::size_t Ready() const {
    std::size_t n = 0;
    for (const auto& p : dispatcher->Paths()) {
      n += p.ready;
    }
    return n;
  }
};

TEST(ReadyQueue, RefusesPastItsCapacity) {
  ReadyQueue q("s", "s", 0, 2);
  queue::WorkItem w{SpoolId::Generate(), {}, 0, 0};
  EXPECT_TRUE(q.Push(w));
  EXPECT_TRUE(q.Push(w));
  EXPECT_TRUE(q.full());
  EXPECT_FALSE(q.Push(w));
  EXPECT_EQ(q.size(), 2u);
  q.Pop();
  EXPECT_TRUE(q.Push(w));
}

TEST(Dispatcher, DeliversThroughTheConnector) {
  Options o = Lab::Defaults();
  o.idle_timeout = 10s;  // the connection waits for the next message
  Lab lab(o);
  lab.Send(3);
  ASSERT_TRUE(lab.RunUntil([&] { return lab.log.Count("Delivery") == 3; }));
  EXPECT_EQ(lab.script.opened, 1);  // one connection, reused
  EXPECT_EQ(lab.script.hosts_used.front(), "mx1.example.com");
  EXPECT_EQ(lab.script.bodies.front(), "Subject: t\r\n\r\nhello\r\n");
  EXPECT_TRUE(lab.RunUntil([&] { return lab.spool.records.empty(); }));
  auto d = lab.log.Of("Delivery").front();
  EXPECT_EQ(d["site"].as_string(), "mx1.example.com,mx2.example.com");
}

// RFC 8460 §4.3: each session is counted for the domain's TLS report: one
// with TLS as a success, one without as "starttls-not-supported"; a host
// that could not be reached held no session.
TEST(Dispatcher, CountsSessionsForTlsReports) {
  Lab lab;
  lab.script.refusing.insert("192.0.2.1");
  lab.Send(1);
  ASSERT_TRUE(lab.RunUntil([&] { return lab.log.Count("Delivery") == 1; }));
  lab.script.tls_version = "TLSv1.3";
  lab.Send(1);
  ASSERT_TRUE(lab.RunUntil([&] { return lab.log.Count("Delivery") == 2; }));
  ASSERT_TRUE(lab.tls_reports.open());
  const auto& domains = lab.tls_reports.open()->domains;
  ASSERT_EQ(domains.size(), 1u);
  const auto& policies = domains.at("example.com").policies;
  ASSERT_EQ(policies.size(), 1u);
  EXPECT_EQ(policies.begin()->first.type, "no-policy-found");
  const auto& c = policies.begin()->second;
  EXPECT_EQ(c.successes, 1u);
  EXPECT_EQ(c.failures, 1u);
  ASSERT_EQ(c.details.size(), 1u);
  const auto& f = c.details.begin()->first;
  EXPECT_EQ(f.result_type, "starttls-not-supported");
  EXPECT_EQ(f.receiving_mx, "mx2.example.com");
  EXPECT_EQ(f.receiving_ip, "192.0.2.2");
}

// A full ready queue pushes back: what does not fit waits in the queue
// manager (parked), not in delivery, and comes in as room is made.
TEST(Dispatcher, AFullReadyQueuePushesBack) {
  Options o = Lab::Defaults();
  o.ready_capacity = 4;
  Lab lab(o);
  lab.script.gated = true;
  lab.Send(20);
  ASSERT_TRUE(lab.RunUntil([&] { return lab.script.waiting == 1; }));
  // One in its transaction, four ready, the rest parked.
  EXPECT_EQ(lab.Ready(), 4u);
  const auto domain = lab.queue->names().Find("example.com");
  ASSERT_TRUE(domain);
  EXPECT_EQ(lab.queue->parked(*domain), 15u);
  std::uint64_t listed = 0;
  for (const auto& q : lab.queue->Queues()) {
    listed += q.messages;
  }
  EXPECT_EQ(listed, 19u);  // the operator sees them all (not the one being sent)
  lab.Release();
  ASSERT_TRUE(lab.RunUntil([&] { return lab.log.Count("Delivery") == 20; }));
  EXPECT_EQ(lab.queue->parked(*domain), 0u);
}

// Parked items come back in the order they were parked, whatever their
// domain: one domain's backlog does not hold another's mail behind it.
TEST(Dispatcher, ParkedItemsComeBackInTheOrderTheyCame) {
  Options o = Lab::Defaults();
  o.ready_capacity = 2;
  Lab lab(o);
  lab.resolver.mx["b.example"] = lab.resolver.mx["example.com"];  // the same site
  lab.script.gated = true;
  lab.Send(3, "a@example.com");  // one in its transaction, two ready
  ASSERT_TRUE(lab.RunUntil([&] { return lab.script.waiting == 1 && lab.Ready() == 2; }));
  const auto parked = [&](const std::string& domain) {
    const auto id = lab.queue->names().Find(domain);
    return id ? lab.queue->parked(*id) : 0;
  };
  lab.Send(1, "b1@b.example");
  ASSERT_TRUE(lab.RunUntil([&] { return parked("b.example") == 1; }));
  lab.Send(1, "a4@example.com");
  ASSERT_TRUE(lab.RunUntil([&] { return parked("example.com") == 1; }));
  lab.Send(1, "b2@b.example");
  ASSERT_TRUE(lab.RunUntil([&] { return parked("b.example") == 2; }));
  lab.Release();
  ASSERT_TRUE(lab.RunUntil([&] { return lab.log.Count("Delivery") == 6; }));
  std::vector<std::string> order;
  for (const auto& d : lab.log.Of("Delivery")) {
    order.emplace_back(d.at("recipient").as_string());
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a@example.com", "a@example.com", "a@example.com",
                                             "b1@b.example", "a4@example.com", "b2@b.example"}));
}

// MX hosts in order (RFC 5321 §5.1): the first refuses, the second takes it.
TEST(Dispatcher, TheNextMxTakesOverWhenTheFirstRefuses) {
  Lab lab;
  lab.script.refusing.insert("192.0.2.1");
  lab.Send(1);
  ASSERT_TRUE(lab.RunUntil([&] { return lab.log.Count("Delivery") == 1; }));
  EXPECT_EQ(lab.script.hosts_used, (std::vector<std::string>{"mx2.example.com"}));
}

TEST(Dispatcher, EveryHostRefusingDefersAndBacksOff) {
  Lab lab;
  lab.script.refusing = {"192.0.2.1", "192.0.2.2"};
  lab.Send(1);
  ASSERT_TRUE(lab.RunUntil([&] { return lab.log.Count("Automation") == 1; })) << lab.log.Dump();
  EXPECT_EQ(lab.log.Count("TransientFailure"), 1u);
  EXPECT_EQ(lab.log.Of("Automation")[0]["action"].as_string(), "suspend");
  EXPECT_EQ(lab.script.refused, 2);  // both hosts tried
  auto paths = lab.dispatcher->Paths();
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_NE(paths[0].suspended_until_us, 0);
  // Mail for the path waits out the back-off: no connection meanwhile.
  lab.Send(1);
  ASSERT_TRUE(lab.RunUntil([&] { return lab.Ready() == 1; }));
  EXPECT_EQ(lab.script.refused, 2);
  // Past its end, the next item tries again; a second failure in a row
  // doubles the back-off, and what waited is deferred with it.
  lab.clock.Advance(30s);
  lab.Send(1);
  ASSERT_TRUE(lab.RunUntil([&] { return lab.log.Count("TransientFailure") == 3; }))
      << lab.log.Dump();
  EXPECT_EQ(lab.script.refused, 4);
  auto automation = lab.log.Of("Automation");
  ASSERT_EQ(automation.size(), 2u);
  EXPECT_EQ(automation[1]["rule"].as_string(), "built-in: 2 failed connections in a row");
  EXPECT_EQ(lab.spool.records.size(), 3u);  // kept for their retries
}

// RFC 7505 / RFC 3463: a domain that does not exist bounces (5.1.2).
TEST(Dispatcher, ANonexistentDomainBounces) {
  Lab lab;
  lab.Send(2, "user@nowhere.example");
  ASSERT_TRUE(lab.RunUntil([&] { return lab.log.Count("Bounce") == 2; }));
  EXPECT_EQ(lab.log.Of("Bounce")[0]["response"].as_object().at("enhanced").as_string(), "5.1.2");
  EXPECT_EQ(lab.script.opened, 0);
}

TEST(Dispatcher, A421IsReportedAndDeferred) {
  Lab lab;
  lab.script.replies = {421};
  lab.Send(1);
  ASSERT_TRUE(lab.RunUntil([&] { return lab.log.Count("TransientFailure") == 1; }));
  auto automation = lab.log.Of("Automation");
  ASSERT_FALSE(automation.empty());
  EXPECT_EQ(automation[0]["action"].as_string(), "halve concurrency");
}

// Paths and routes that have been idle for a while are forgotten, and made
// again when mail comes for them.
TEST(Dispatcher, IdlePathsAreDroppedAndMadeAgain) {
  Lab lab;
  lab.Send(1);
  lab.Send(1, "user@example.org");
  lab.resolver.mx["example.org"] = {"mx1.example.com", "mx2.example.com"};
  ASSERT_TRUE(lab.RunUntil([&] { return lab.log.Count("Delivery") == 2; }));
  ASSERT_TRUE(lab.RunUntil([&] {
    auto p = lab.dispatcher->Paths();
    return p.size() == 1 && p[0].connections == 0;
  }));
  lab.dispatcher->ForgetIdle();
  EXPECT_EQ(lab.dispatcher->Paths().size(), 1u);  // not idle long enough
  lab.clock.Advance(11min);
  lab.dispatcher->ForgetIdle();
  EXPECT_TRUE(lab.dispatcher->Paths().empty());
  lab.Send(1);
  ASSERT_TRUE(lab.RunUntil([&] { return lab.log.Count("Delivery") == 3; }));
  EXPECT_EQ(lab.dispatcher->Paths().size(), 1u);
}

// An operator's suspension takes back what delivery holds (ready queues).
TEST(Dispatcher, SuspendTakesBackReadyMail) {
  Lab lab;
  lab.script.gated = true;
  lab.Send(5);
  ASSERT_TRUE(lab.RunUntil([&] { return lab.script.waiting == 1; }));
  EXPECT_EQ(lab.Ready(), 4u);
  EXPECT_EQ(lab.queue->Suspend("example.com", std::nullopt), 4u);
  EXPECT_EQ(lab.Ready(), 0u);
  lab.Release();
  ASSERT_TRUE(lab.RunUntil([&] { return lab.log.Count("Delivery") == 1; }));
  EXPECT_EQ(lab.queue->Resume("example.com"), 4u);
  ASSERT_TRUE(lab.RunUntil([&] { return lab.log.Count("Delivery") == 5; }));
}

}  // namespace
}  // namespace sluice::delivery
