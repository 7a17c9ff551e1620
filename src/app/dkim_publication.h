#pragma once
// Security: reads public DNS only.
// Standards: RFC 6376 §3.6.2 (key records in DNS TXT at <selector>._domainkey.<domain>).
//
// Tells the key store which configured selectors are published in DNS with
// the matching public key, at start-up and then every `recheck`. A lookup that
// fails for a transient reason leaves the last known state in place.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dkim/key_store.h"
#include "dns/resolver.h"

namespace sluice::app {

class DkimPublication {
 public:
  DkimPublication(boost::asio::io_context& ioc, dns::Resolver& resolver, dkim::KeyStore& store)
      : ioc_(ioc), resolver_(resolver), store_(store), timer_(ioc) {}

  // Checks every selector once.
  static boost::asio::awaitable<void> CheckAll(DkimPublication* self);
  // Checks again every `recheck`, starting after one interval.
  void Start();
  void Stop() { timer_.cancel(); }

 private:
  static boost::asio::awaitable<void> Loop(DkimPublication* self);

  boost::asio::io_context& ioc_;
  dns::Resolver& resolver_;
  dkim::KeyStore& store_;
  boost::asio::steady_timer timer_;
};

}  // namespace sluice::app
