#pragma once
// A resolver that answers TXT queries from a map (a missing name is
// NXDOMAIN; `fail`: every query SERVFAILs) and nothing else.

#include <map>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "dns/resolver.h"

namespace sluice::testing {

class TxtResolver final : public dns::Resolver {
 public:
  std::map<std::string, std::vector<std::string>> txt;
  bool fail = false;
  int queries = 0;
  boost::asio::awaitable<Result<dns::MxSet, dns::DnsError>> ResolveMx(std::string) override {
    co_return Fail(dns::DnsError::kServFail);
  }
  boost::asio::awaitable<Result<std::vector<std::string>, dns::DnsError>> ResolveAddresses(
      std::string) override {
    co_return Fail(dns::DnsError::kServFail);
  }
  boost::asio::awaitable<Result<std::vector<std::string>, dns::DnsError>> ResolveTxt(
      std::string name) override {
    ++queries;
    if (fail) {
      co_return Fail(dns::DnsError::kServFail);
    }
    auto it = txt.find(name);
    if (it == txt.end()) {
      co_return Fail(dns::DnsError::kNxDomain);
    }
    co_return it->second;
  }
  boost::asio::awaitable<Result<std::vector<std::string>, dns::DnsError>> ResolvePtr(
      std::string) override {
    co_return Fail(dns::DnsError::kServFail);
  }
};

}  // namespace sluice::testing
