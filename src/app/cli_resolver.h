#pragma once
// The configured resolver for a one-shot CLI command.

#include <memory>

#include <boost/asio/io_context.hpp>

#include "app/settings.h"
#include "dns/unbound_resolver.h"

namespace sluice::app {

// Null after saying why on stderr ("sluice: ...").
std::unique_ptr<dns::UnboundResolver> CliResolver(boost::asio::io_context& ioc, const Settings& st);

}  // namespace sluice::app
