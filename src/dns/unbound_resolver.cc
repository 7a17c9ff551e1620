#include "dns/unbound_resolver.h"

#include <unbound.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <unordered_set>

#include <arpa/inet.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sluice::dns {

namespace asio = boost::asio;
using Answer = UnboundResolver::Answer;

namespace {

constexpr int kTypeA = 1;
constexpr int kTypePtr = 12;
constexpr int kTypeMx = 15;
constexpr int kTypeTxt = 16;
constexpr int kTypeAaaa = 28;
constexpr int kTypeTlsa = 52;
constexpr int kRcodeNxDomain = 3;

// Special-use names that a configured forwarder may answer for: the testing
// TLD, the homenet zone and the documentation networks' reverse zones (RFC
// 6761 §6.2, RFC 8375, RFC 5737, RFC 3849).
constexpr const char* kForwardedSpecialUseZones[] = {
    "test.",
    "home.arpa.",
    "2.0.192.in-addr.arpa.",
    "100.51.198.in-addr.arpa.",
    "113.0.203.in-addr.arpa.",
    "8.b.d.0.1.0.0.2.ip6.arpa.",
};

struct Pending {
  std::function<void(Answer)> complete;
  std::unordered_set<void*>* registry;  // the resolver's pending_
};

void OnResult(void* arg, int err, ub_result* result) {
  std::unique_ptr<Pending> p(static_cast<Pending*>(arg));
  p->registry->erase(p.get());
  Answer a;
  a.error = err;
  if (err == 0 && result != nullptr) {
    a.rcode = result->rcode;
    a.havedata = result->havedata != 0;
    a.nxdomain = result->nxdomain != 0;
    a.secure = result->secure != 0;
    a.bogus = result->bogus != 0;
    a.ttl = result->ttl;
    for (int i = 0; result->data != nullptr && result->data[i] != nullptr; ++i) {
      a.rdata.emplace_back(result->data[i], static_cast<std::size_t>(result->len[i]));
    }
  }
  if (result != nullptr) {
    ub_resolve_free(result);
  }
  p->complete(std::move(a));
}

std::string NormaliseName(std::string name) {
  while (!name.empty() && name.back() == '.') {
    name.pop_back();
  }
  for (auto& c : name) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return name;
}

bool ValidQueryName(const std::string& name) {
  if (name.empty() || name.size() > 253) {
    return false;
  }
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127) {
      return false;  // callers pass A-labels
    }
  }
  return true;
}

std::optional<DnsError> ErrorOf(const Answer& a) {
  if (a.error != 0) {
    return DnsError::kServFail;
  }
  if (a.bogus) {
    return DnsError::kBogus;
  }
  if (a.nxdomain || a.rcode == kRcodeNxDomain) {
    return DnsError::kNxDomain;
  }
  if (a.rcode != 0) {
    return DnsError::kServFail;
  }
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<UnboundResolver>, std::string> UnboundResolver::Create(
    asio::io_context& ioc, const UnboundOptions& opts) {
  std::unique_ptr<UnboundResolver> r(new UnboundResolver(ioc));
  r->ctx_ = ub_ctx_create();
  if (r->ctx_ == nullptr) {
    return Fail(std::string("cannot create a libunbound context"));
  }
  // Threaded background resolution; results arrive on ub_fd.
  if (int rc = ub_ctx_async(r->ctx_, 1); rc != 0) {
    return Fail(std::string("libunbound: ") + ub_strerror(rc));
  }
  for (const auto& f : opts.forwarders) {
    if (int rc = ub_ctx_set_fwd(r->ctx_, f.c_str()); rc != 0) {
      return Fail("dns forwarder " + f + ": " + ub_strerror(rc));
    }
  }
  // Trust anchors go in before anything that finalises the context (zone_add).
  if (!opts.trust_anchor_file.empty()) {
    if (int rc = ub_ctx_add_ta_autr(r->ctx_, opts.trust_anchor_file.c_str()); rc != 0) {
      return Fail("dns trust anchor " + opts.trust_anchor_file + ": " + ub_strerror(rc));
    }
  }
  for (const auto& file : opts.trust_anchors) {
    if (int rc = ub_ctx_add_ta_file(r->ctx_, file.c_str()); rc != 0) {
      return Fail("dns trust anchor " + file + ": " + ub_strerror(rc));
    }
  }
  if (!opts.forwarders.empty()) {
    // Forwarders on loopback (a local cache, or a test server) must be usable.
    ub_ctx_set_option(r->ctx_, "do-not-query-localhost:", "no");
    // The forwarders answer for private and loopback reverse zones too (an
    // egress address's PTR on a private network), which libunbound would
    // otherwise answer itself (RFC 6303 defaults).
    ub_ctx_set_option(r->ctx_, "unblock-lan-zones:", "yes");
    ub_ctx_set_option(r->ctx_, "insecure-lan-zones:", "yes");
    ub_ctx_zone_add(r->ctx_, "127.in-addr.arpa.", "nodefault");
    if (opts.forward_special_use) {
      // RFC 6761 §6.2 and RFC 8375: a resolver library sends these names to its
      // configured caching server, which may well have a zone for them (a
      // staging domain under .test, an internal home.arpa zone). libunbound
      // would otherwise answer them itself with NXDOMAIN. "invalid", "onion"
      // and "localhost" stay answered locally (RFC 6761 §6.3, §6.4; RFC 7686).
      for (const char* zone : kForwardedSpecialUseZones) {
        ub_ctx_zone_add(r->ctx_, zone, "nodefault");
        // The signed root proves these do not exist: with DNSSEC validation on,
        // the forwarder's answers would be bogus unless taken as insecure.
        ub_ctx_set_option(r->ctx_, "domain-insecure:", zone);
      }
    }
  }
  int fd = ub_fd(r->ctx_);
  if (fd < 0) {
    return Fail(std::string("libunbound: no result descriptor"));
  }
  r->fd_.assign(fd);
  asio::co_spawn(ioc, Pump(r.get()), asio::detached);
  return r;
}

// Run once the io_context is stopped (or on its thread): pending_ and the
// queries' handlers belong to it.
UnboundResolver::~UnboundResolver() {
  boost::system::error_code ec;
  fd_.cancel(ec);
  fd_.release();  // owned by the ub_ctx
  if (ctx_ != nullptr) {
    ub_ctx_delete(ctx_);  // calls no callback: the unanswered queries are ours to free
  }
  // Dropping a waiting coroutine's handler hands its frames to its executor
  // for destruction (the io_context outlives the resolver).
  for (void* p : pending_) {
    delete static_cast<Pending*>(p);
  }
}

asio::awaitable<void> UnboundResolver::Pump(UnboundResolver* self) {
  while (true) {
    auto [ec] = co_await self->fd_.async_wait(asio::posix::stream_descriptor::wait_read,
                                              asio::as_tuple(asio::use_awaitable));
    if (ec) {
      co_return;
    }
    ub_process(self->ctx_);
  }
}

asio::awaitable<Answer> UnboundResolver::Query(std::string name, int type) {
  return asio::async_initiate<const asio::use_awaitable_t<>, void(Answer)>(
      [this](auto handler, std::string n, int t) {
        auto home = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto p = std::make_unique<Pending>(Pending{
            [shared, home](Answer a) {
              asio::post(home, [shared, a = std::move(a)]() mutable { (*shared)(std::move(a)); });
            },
            &pending_});
        asio::post(ioc_, [this, p = std::move(p), n = std::move(n), t]() mutable {
          int id = 0;
          pending_.insert(p.get());
          int rc = ub_resolve_async(ctx_, n.c_str(), t, 1, p.get(), &OnResult, &id);
          if (rc != 0) {
            pending_.erase(p.get());
            Answer a;
            a.error = rc;
            p->complete(std::move(a));
            return;
          }
          p.release();  // OnResult owns it now (or the destructor, if no answer comes)
        });
      },
      asio::use_awaitable, std::move(name), type);
}

asio::awaitable<Result<std::vector<std::string>, DnsError>> UnboundResolver::ResolveAddresses(
    std::string host) {
  host = NormaliseName(std::move(host));
  if (!ValidQueryName(host)) {
    co_return Fail(DnsError::kBadName);
  }
  std::vector<std::string> out;
  std::optional<DnsError> first_error;
  int transient = 0;
  for (int type : {kTypeA, kTypeAaaa}) {
    Answer a = co_await Query(host, type);
    if (auto e = ErrorOf(a)) {
      if (!IsPermanent(*e)) {
        ++transient;
      }
      first_error = first_error ? first_error : e;
      continue;
    }
    for (const auto& rd : a.rdata) {
      char buf[INET6_ADDRSTRLEN] = {0};
      if (type == kTypeA && rd.size() == 4) {
        inet_ntop(AF_INET, rd.data(), buf, sizeof buf);
      } else if (type == kTypeAaaa && rd.size() == 16) {
        inet_ntop(AF_INET6, rd.data(), buf, sizeof buf);
      } else {
        continue;
      }
      out.emplace_back(buf);
    }
  }
  if (out.empty() && first_error) {
    co_return Fail(transient > 0 ? DnsError::kServFail : *first_error);
  }
  co_return out;
}

asio::awaitable<Result<std::vector<std::string>, DnsError>> UnboundResolver::QueryStrings(
    std::string name, int type, bool (*parse)(std::string_view, std::string&)) {
  name = NormaliseName(std::move(name));
  if (!ValidQueryName(name)) {
    co_return Fail(DnsError::kBadName);
  }
  Answer a = co_await Query(name, type);
  if (auto e = ErrorOf(a)) {
    co_return Fail(*e);
  }
  std::vector<std::string> out;
  for (const auto& rd : a.rdata) {
    std::string s;
    if (!parse(rd, s)) {
      co_return Fail(DnsError::kServFail);
    }
    out.push_back(std::move(s));
  }
  co_return out;
}

asio::awaitable<Result<std::vector<std::string>, DnsError>> UnboundResolver::ResolveTxt(
    std::string name) {
  auto r = co_await QueryStrings(std::move(name), kTypeTxt, &ParseTxtRdata);
  co_return r;
}

asio::awaitable<Result<std::vector<std::string>, DnsError>> UnboundResolver::ResolvePtr(
    std::string ip) {
  auto rev = ReverseName(ip);
  if (!rev) {
    co_return Fail(DnsError::kBadName);
  }
  auto r = co_await QueryStrings(*rev, kTypePtr, &ParseNameRdata);
  co_return r;
}

asio::awaitable<Result<TlsaSet, DnsError>> UnboundResolver::ResolveTlsa(std::string host,
                                                                        std::uint16_t port) {
  host = NormaliseName(std::move(host));
  if (!ValidQueryName(host)) {
    co_return Fail(DnsError::kBadName);
  }
  // RFC 7672 §2.2.2: only a host whose address records are secure.
  Answer addr = co_await Query(host, kTypeA);
  if (!addr.secure && !addr.bogus && !addr.havedata) {
    addr = co_await Query(host, kTypeAaaa);
  }
  if (addr.bogus) {
    co_return Fail(DnsError::kBogus);
  }
  if (!addr.secure) {
    co_return TlsaSet{};
  }
  Answer a = co_await Query("_" + std::to_string(port) + "._tcp." + host, kTypeTlsa);
  TlsaSet set;
  if (auto e = ErrorOf(a)) {
    if (*e != DnsError::kNxDomain) {
      co_return Fail(*e);
    }
    set.secure = a.secure;  // a validated denial: no records
    co_return set;
  }
  if (!a.secure) {
    co_return set;  // RFC 7672 §2.2: insecure TLSA records are not used
  }
  set.secure = true;
  for (const auto& rd : a.rdata) {
    TlsaRecord r;
    if (!ParseTlsaRdata(rd, r)) {
      co_return Fail(DnsError::kServFail);
    }
    set.records.push_back(std::move(r));
  }
  co_return set;
}

asio::awaitable<Result<MxSet, DnsError>> UnboundResolver::ResolveMx(std::string domain) {
  domain = NormaliseName(std::move(domain));
  if (!domain.empty() && domain.front() == '[') {
    // An address literal: deliver to it directly (RFC 5321 §5.1).
    MxSet set;
    set.implicit = true;
    set.hosts.push_back({0, domain});
    co_return set;
  }
  if (!ValidQueryName(domain)) {
    co_return Fail(DnsError::kBadName);
  }
  Answer a = co_await Query(domain, kTypeMx);
  if (auto e = ErrorOf(a)) {
    co_return Fail(*e);
  }
  MxSet set;
  set.secure = a.secure;
  set.ttl = static_cast<std::uint32_t>(std::max(0, a.ttl));
  if (a.havedata) {
    for (const auto& rd : a.rdata) {
      MxHost h;
      if (!ParseMxRdata(rd, h)) {
        co_return Fail(DnsError::kServFail);
      }
      set.hosts.push_back(std::move(h));
    }
    if (IsNullMx(set.hosts)) {
      co_return Fail(DnsError::kNullMx);
    }
    std::erase_if(set.hosts, [](const MxHost& h) { return h.host == "."; });
    {
      std::lock_guard lock(rng_mu_);
      OrderMx(set.hosts, rng_);
    }
    co_return set;
  }
  // No MX records: the domain itself is the implicit MX, if it has an address.
  auto addrs = co_await ResolveAddresses(domain);
  if (!addrs) {
    co_return Fail(addrs.error() == DnsError::kNxDomain ? DnsError::kNoMailHost : addrs.error());
  }
  if (addrs->empty()) {
    co_return Fail(DnsError::kNoMailHost);
  }
  set.implicit = true;
  set.hosts.push_back({0, domain});
  co_return set;
}

}  // namespace sluice::dns
