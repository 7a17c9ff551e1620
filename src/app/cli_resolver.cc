#include "app/cli_resolver.h"

#include <cstdio>

namespace sluice::app {

std::unique_ptr<dns::UnboundResolver> CliResolver(boost::asio::io_context& ioc,
                                                  const Settings& st) {
  auto r = dns::UnboundResolver::Create(ioc, st.dns);
  if (!r) {
    std::fprintf(stderr, "sluice: %s\n", r.error().c_str());
    return nullptr;
  }
  return std::move(r).value();
}

}  // namespace sluice::app
