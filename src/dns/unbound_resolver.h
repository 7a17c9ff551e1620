#pragma once
// Security: talks to the configured DNS resolvers; never blocks a reactor thread.
// Standards: RFC 1035, RFC 5321 §5.1, RFC 7505; DNSSEC validation by libunbound
//            when a trust anchor is configured (RFC 4033-4035).
//
// libunbound runs its queries in a background thread; its result pipe (ub_fd)
// is watched by the owning io_context, whose thread runs the callbacks, which
// hand each answer back to the awaiting coroutine's own executor. libunbound's
// cache honours record TTLs and caches negative answers (RFC 2308).

#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "dns/resolver.h"

struct ub_ctx;

namespace sluice::dns {

struct UnboundOptions {
  std::vector<std::string> forwarders;  // "127.0.0.1@5353"; empty: full recursion
  std::string trust_anchor_file;        // RFC 5011 managed root key: enables DNSSEC validation
  // Static trust anchors (DS or DNSKEY records in zone-file form), for zones
  // below an unsigned parent or a private signed zone; each enables
  // validation for its zone.
  std::vector<std::string> trust_anchors;
  // With forwarders: ask them for special-use names (.test, home.arpa) too,
  // rather than answering NXDOMAIN locally. Without forwarders it has no effect.
  bool forward_special_use = true;
};

class UnboundResolver final : public Resolver {
 public:
  static Result<std::unique_ptr<UnboundResolver>, std::string> Create(boost::asio::io_context& ioc,
                                                                      const UnboundOptions& opts);
  ~UnboundResolver() override;

  boost::asio::awaitable<Result<MxSet, DnsError>> ResolveMx(std::string domain) override;
  boost::asio::awaitable<Result<std::vector<std::string>, DnsError>> ResolveAddresses(
      std::string host) override;
  boost::asio::awaitable<Result<std::vector<std::string>, DnsError>> ResolveTxt(
      std::string name) override;
  boost::asio::awaitable<Result<std::vector<std::string>, DnsError>> ResolvePtr(
      std::string ip) override;
  boost::asio::awaitable<Result<TlsaSet, DnsError>> ResolveTlsa(std::string host,
                                                                std::uint16_t port) override;

  struct Answer {
    int error = 0;  // libunbound error code, 0 if the query ran
    int rcode = 0;
    bool havedata = false;
    bool nxdomain = false;
    bool secure = false;
    bool bogus = false;
    int ttl = 0;
    std::vector<std::string> rdata;
  };

 private:
  explicit UnboundResolver(boost::asio::io_context& ioc) : ioc_(ioc), fd_(ioc) {}
  boost::asio::awaitable<Answer> Query(std::string name, int type);
  // Records of `type` at `name`, each decoded by `parse`.
  boost::asio::awaitable<Result<std::vector<std::string>, DnsError>> QueryStrings(
      std::string name, int type, bool (*parse)(std::string_view, std::string&));
  static boost::asio::awaitable<void> Pump(UnboundResolver* self);

  boost::asio::io_context& ioc_;
  ub_ctx* ctx_ = nullptr;
  boost::asio::posix::stream_descriptor fd_;
  // Queries libunbound holds (each a Pending, owned by its callback); those it
  // never answers are freed with the resolver. Touched on ioc_ only.
  std::unordered_set<void*> pending_;
  std::mutex rng_mu_;
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace sluice::dns
