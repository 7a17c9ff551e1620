// [delivery], [[route]] and [queue]: how mail leaves (docs/config.md).
#include <unistd.h>

#include "app/settings.h"
#include "app/shaping_file.h"
#include "core/address.h"
#include "core/network.h"
#include "delivery/route.h"

namespace sluice::app {

void BindDelivery(const config::Section& root, const config::Document& doc, Settings& st) {
  auto del = root.Table("delivery");
  del.RejectUnknown({"enabled",
                     "ehlo_name",
                     "port",
                     "tls",
                     "dane",
                     "ca_file",
                     "mta_sts",
                     "mta_sts_port",
                     "source_address",
                     "smarthost",
                     "connection_limit",
                     "max_deliveries_per_connection",
                     "max_recipients_per_transaction",
                     "idle_timeout",
                     "connect_timeout",
                     "command_timeout",
                     "data_timeout",
                     "shaping",
                     "failure_backoff",
                     "max_failure_backoff"});
  auto& d = st.delivery;
  st.delivery_enabled = del.Bool("enabled", true);
  d.client.ehlo_name = del.String("ehlo_name", st.server.hostname);
  d.port = static_cast<std::uint16_t>(del.Int("port", 25, 1, 65535));
  if (auto tls = shaping::ParseTls(del.String("tls", "opportunistic"))) {
    d.tls = *tls;
  } else {
    del.Report("tls", shaping::kTlsChoices);
  }
  d.dane = del.Bool("dane", d.dane);
  st.mta_sts = del.Bool("mta_sts", st.mta_sts);
  st.mta_sts_port = static_cast<std::uint16_t>(del.Int("mta_sts_port", 443, 1, 65535));
  st.delivery_tls.ca_file = del.String("ca_file", "");
  if (!st.delivery_tls.ca_file.empty() && ::access(st.delivery_tls.ca_file.c_str(), R_OK) != 0) {
    del.Report("ca_file", "cannot read " + st.delivery_tls.ca_file);
  }
  d.client.source_address = del.String("source_address", "");
  if (!d.client.source_address.empty() && !IpAddress::Parse(d.client.source_address)) {
    del.Report("source_address", "not an IP address");
  }
  if (std::string smarthost = del.String("smarthost", ""); !smarthost.empty()) {
    if (auto h = delivery::ParseRouteHost(smarthost)) {
      d.routes["*"] = {*h};
    } else {
      del.Report("smarthost", "expected \"host\", \"host:port\" or \"[address]:port\"");
    }
  }
  for (const auto& r : root.Tables("route")) {
    r.RejectUnknown({"domain", "hosts"});
    std::string domain = r.String("domain", "");
    auto norm = NormalizeDomain(domain);
    if (!norm) {
      r.Report("domain", "not a domain: " + domain);
      continue;
    }
    std::vector<delivery::RouteHost> hosts;
    for (const auto& text : r.StringList("hosts")) {
      if (auto h = delivery::ParseRouteHost(text)) {
        hosts.push_back(*h);
      } else {
        r.Report("hosts", "not \"host\", \"host:port\" or \"[address]:port\": " + text);
      }
    }
    if (hosts.empty()) {
      r.Report("hosts", "a route needs at least one host");
      continue;
    }
    if (!d.routes.emplace(norm.value(), std::move(hosts)).second) {
      r.Report("domain", "a second route for " + norm.value());
    }
  }
  d.connection_limit =
      static_cast<std::uint32_t>(del.Int("connection_limit", d.connection_limit, 1, 10000));
  d.max_deliveries_per_connection = static_cast<std::uint32_t>(
      del.Int("max_deliveries_per_connection", d.max_deliveries_per_connection, 1, 1000000));
  d.max_recipients_per_transaction = static_cast<std::uint32_t>(
      del.Int("max_recipients_per_transaction", d.max_recipients_per_transaction, 1, 100000));
  d.idle_timeout = del.Duration("idle_timeout", d.idle_timeout);
  d.client.connect_timeout = del.Duration("connect_timeout", d.client.connect_timeout);
  d.client.command_timeout = del.Duration("command_timeout", d.client.command_timeout);
  d.client.greeting_timeout = d.client.command_timeout;
  d.client.data_done_timeout = del.Duration("data_timeout", d.client.data_done_timeout);
  d.failure_backoff = del.Duration("failure_backoff", d.failure_backoff);
  d.max_failure_backoff = del.Duration("max_failure_backoff", d.max_failure_backoff);
  st.shaping_file = del.String("shaping", "");
  if (!st.shaping_file.empty()) {
    // The rules file reports its own errors, with its own name and lines.
    auto loaded = LoadShapingFile(st.shaping_file, doc.errors());
    if (loaded) {
      d.shaping = std::move(loaded);
    }
  }

  auto q = root.Table("queue");
  q.RejectUnknown({"first_retry", "backoff_factor", "max_retry_interval", "jitter", "max_age",
                   "delay_warning"});
  auto& rp = st.queue.retry;
  rp.first_retry = q.Duration("first_retry", rp.first_retry);
  rp.backoff_factor = q.Double("backoff_factor", rp.backoff_factor, 1.0, 100.0);
  rp.max_interval = q.Duration("max_retry_interval", rp.max_interval);
  rp.jitter = q.Double("jitter", rp.jitter, 0.0, 0.5);
  rp.max_age = q.Duration("max_age", rp.max_age);
  st.queue.delay_warning = q.Duration("delay_warning", st.queue.delay_warning);
}

}  // namespace sluice::app
