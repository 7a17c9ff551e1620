// Component test: UnboundResolver against a real DNS server (dnsmasq) on loopback.
// Names are under .example: libunbound answers the special-use .test itself.
// RFC 5321 §5.1 (MX, implicit MX), RFC 7505 (null MX), NXDOMAIN.
#include "dns/unbound_resolver.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <random>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

namespace sluice::dns {
namespace {

namespace asio = boost::asio;

// A port free for both UDP and TCP (dnsmasq binds both), chosen below the
// kernel's ephemeral range so outgoing connections of other tests, run in
// parallel, do not take it meanwhile.
bool Bindable(int type, int port) {
  int s = socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  bool ok = bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(s);
  return ok;
}

int FreeDnsPort() {
  static std::mt19937 rng{std::random_device{}()};
  while (true) {
    int port = std::uniform_int_distribution<int>(15000, 29999)(rng);
    if (Bindable(SOCK_DGRAM, port) && Bindable(SOCK_STREAM, port)) {
      return port;
    }
  }
}

template <class T>
asio::awaitable<void> StoreInto(asio::awaitable<T> a, std::optional<T>* out) {
  out->emplace(co_await std::move(a));
}

// Runs an awaitable on `ioc` (served by another thread) and waits for its value.
template <class T>
T RunOn(asio::io_context& ioc, asio::awaitable<T> a) {
  std::optional<T> out;
  asio::co_spawn(ioc, StoreInto(std::move(a), &out), asio::use_future).get();
  return std::move(*out);
}

class UnboundResolverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists("/usr/sbin/dnsmasq")) {
      return;
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = FreeDnsPort();
      std::vector<std::string> args = {"/usr/sbin/dnsmasq",
                                       "--keep-in-foreground",
                                       "--conf-file=/dev/null",
                                       "--no-resolv",
                                       "--no-hosts",
                                       "--listen-address=127.0.0.1",
                                       "--bind-interfaces",
                                       "--port=" + std::to_string(port_),
                                       "--pid-file=",
                                       "--local=/example/",
                                       "--local=/test/",
                                       "--local=/home.arpa/",
                                       "--local=/invalid/",
                                       "--mx-host=staging.test,mx1.dest.example,10",
                                       "--mx-host=corp.home.arpa,mx1.dest.example,10",
                                       "--host-record=mail.invalid,127.0.0.14",
                                       "--mx-host=dest.example,mx1.dest.example,10",
                                       "--mx-host=dest.example,mx2.dest.example,20",
                                       "--host-record=mx1.dest.example,127.0.0.11",
                                       "--host-record=mx2.dest.example,127.0.0.12",
                                       "--host-record=implicit.example,127.0.0.13",
                                       "--dns-rr=nullmx.example,15,000000",
                                       "--txt-record=noaddr.example,nothing here",
                                       "--txt-record=split.example,v=spf1 ,-all"};
      pid_ = fork();
      if (pid_ == 0) {
        std::vector<char*> argv;
        for (auto& a : args) {
          argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
      }
      usleep(300 * 1000);  // dnsmasq binds at once; this is ample
      if (waitpid(pid_, nullptr, WNOHANG) == 0) {
        return;  // running
      }
      pid_ = -1;  // it could not bind (the port was taken meanwhile): another port
    }
  }
  static void TearDownTestSuite() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  void SetUp() override {
    if (pid_ <= 0) {
      if (std::filesystem::exists("/usr/sbin/dnsmasq")) {
        FAIL() << "dnsmasq did not start (no free port in 5 tries?)";
      }
      GTEST_SKIP() << "dnsmasq not installed";
    }
    UnboundOptions opts;
    opts.forwarders = {"127.0.0.1@" + std::to_string(port_)};
    auto r = UnboundResolver::Create(ioc_, opts);
    ASSERT_TRUE(r.ok()) << r.error();
    resolver_ = std::move(r).value();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    if (thread_.joinable()) {
      work_.reset();
      resolver_.reset();
      ioc_.stop();
      thread_.join();
    }
  }

  Result<MxSet, DnsError> Mx(const std::string& d) { return RunOn(ioc_, resolver_->ResolveMx(d)); }

  static inline pid_t pid_ = -1;
  static inline int port_ = 0;
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
  std::unique_ptr<UnboundResolver> resolver_;
  std::thread thread_;
};

TEST_F(UnboundResolverTest, MxByPreference) {
  auto r = Mx("Dest.EXAMPLE.");
  ASSERT_TRUE(r.ok()) << ToString(r.error());
  ASSERT_EQ(r->hosts.size(), 2u);
  EXPECT_EQ(r->hosts[0].host, "mx1.dest.example");
  EXPECT_EQ(r->hosts[1].host, "mx2.dest.example");
  EXPECT_FALSE(r->implicit);
  EXPECT_EQ(r->Site(), "mx1.dest.example,mx2.dest.example");
  auto addrs = RunOn(ioc_, resolver_->ResolveAddresses("mx2.dest.example"));
  ASSERT_TRUE(addrs.ok());
  EXPECT_EQ(addrs.value(), std::vector<std::string>{"127.0.0.12"});
}

TEST_F(UnboundResolverTest, ImplicitMx) {
  auto r = Mx("implicit.example");
  ASSERT_TRUE(r.ok()) << ToString(r.error());
  EXPECT_TRUE(r->implicit);
  ASSERT_EQ(r->hosts.size(), 1u);
  EXPECT_EQ(r->hosts[0].host, "implicit.example");
}

TEST_F(UnboundResolverTest, NullMxIsPermanent) {
  auto r = Mx("nullmx.example");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), DnsError::kNullMx);
}

TEST_F(UnboundResolverTest, NxDomainIsPermanent) {
  auto r = Mx("nope.example");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), DnsError::kNxDomain);
  EXPECT_TRUE(IsPermanent(r.error()));
}

TEST_F(UnboundResolverTest, NoMxNoAddressIsPermanent) {
  auto r = Mx("noaddr.example");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), DnsError::kNoMailHost);
}

TEST_F(UnboundResolverTest, AddressLiteralNeedsNoLookup) {
  auto r = Mx("[127.0.0.5]");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->hosts[0].host, "[127.0.0.5]");
}

// RFC 1035 §3.3.14: a TXT record's character-strings are joined (RFC 7208 §3.3).
TEST_F(UnboundResolverTest, TxtStringsJoined) {
  auto r = RunOn(ioc_, resolver_->ResolveTxt("split.example"));
  ASSERT_TRUE(r.ok()) << ToString(r.error());
  EXPECT_EQ(r.value(), std::vector<std::string>{"v=spf1 -all"});
  auto none = RunOn(ioc_, resolver_->ResolveTxt("nope.example"));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error(), DnsError::kNxDomain);
}

TEST_F(UnboundResolverTest, PtrOfAnAddress) {
  auto r = RunOn(ioc_, resolver_->ResolvePtr("127.0.0.13"));
  ASSERT_TRUE(r.ok()) << ToString(r.error());
  EXPECT_EQ(r.value(), std::vector<std::string>{"implicit.example"});
  EXPECT_FALSE(RunOn(ioc_, resolver_->ResolvePtr("not an ip")).ok());
}

// RFC 6761 §6.2 / RFC 8375: with a forwarder configured, names under .test and
// home.arpa are the forwarder's to answer (libunbound would say NXDOMAIN itself).
TEST_F(UnboundResolverTest, SpecialUseNamesGoToTheForwarder) {
  auto r = Mx("staging.test");
  ASSERT_TRUE(r.ok()) << ToString(r.error());
  EXPECT_EQ(r->hosts[0].host, "mx1.dest.example");
  auto h = Mx("corp.home.arpa");
  ASSERT_TRUE(h.ok()) << ToString(h.error());
  EXPECT_EQ(h->hosts[0].host, "mx1.dest.example");
}

// RFC 6761 §6.4: "invalid" is answered negatively without asking anyone, even
// though this forwarder holds a record there.
TEST_F(UnboundResolverTest, InvalidStaysNxDomain) {
  auto r = Mx("mail.invalid");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), DnsError::kNxDomain);
}

// forward_special_use = false keeps libunbound's local answer for .test.
TEST_F(UnboundResolverTest, SpecialUseForwardingCanBeTurnedOff) {
  asio::io_context ioc;
  auto work = asio::make_work_guard(ioc);
  std::thread runner([&ioc] { ioc.run(); });
  UnboundOptions opts;
  opts.forwarders = {"127.0.0.1@" + std::to_string(port_)};
  opts.forward_special_use = false;
  auto created = UnboundResolver::Create(ioc, opts);
  ASSERT_TRUE(created.ok()) << created.error();
  auto resolver = std::move(created).value();
  auto r = RunOn(ioc, resolver->ResolveMx("staging.test"));
  EXPECT_TRUE(!r.ok() && r.error() == DnsError::kNxDomain);
  work.reset();
  ioc.stop();
  runner.join();
  resolver.reset();
}

}  // namespace
}  // namespace sluice::dns
