#include "app/dkim_publication.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace sluice::app {

namespace asio = boost::asio;

asio::awaitable<void> DkimPublication::CheckAll(DkimPublication* self) {
  for (const auto& d : self->store_.options().domains) {
    for (const auto& k : d.keys) {
      std::string name = k.selector + "._domainkey." + d.signing_domain;
      auto txt = co_await self->resolver_.ResolveTxt(name);
      dkim::Published was = self->store_.IsPublished(d.signing_domain, k.selector);
      dkim::Published now = dkim::Published::kNo;
      std::string why;
      if (txt) {
        now = dkim::MatchPublished(k.key, txt.value(), &why);
      } else if (txt.error() == dns::DnsError::kNxDomain) {
        why = "no such name";
      } else {
        spdlog::warn("dkim: cannot check {}: {}; keeping its state ({})", name,
                     dns::ToString(txt.error()), dkim::ToString(was));
        continue;
      }
      if (now != was) {
        if (now == dkim::Published::kYes) {
          spdlog::info("dkim: {} is published; it may sign", name);
        } else {
          spdlog::warn(
              "dkim: {} is not published ({}); it will not sign until it is. Publish: "
              "{} TXT \"{}\"",
              name, why, name, k.key.DnsRecord());
        }
      }
      self->store_.SetPublished(d.signing_domain, k.selector, now);
    }
  }
}

asio::awaitable<void> DkimPublication::Loop(DkimPublication* self) {
  while (true) {
    self->timer_.expires_after(self->store_.options().recheck);
    auto [ec] = co_await self->timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      co_return;
    }
    co_await CheckAll(self);
  }
}

void DkimPublication::Start() {
  asio::co_spawn(ioc_, Loop(this), [](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        spdlog::error("dkim publication check stopped: {}", x.what());
      }
    }
  });
}

}  // namespace sluice::app
