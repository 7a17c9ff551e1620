// [api], [[http]] and [metrics]: the HTTP API's listeners and keys, and the
// metrics endpoint (docs/config.md).
#include <set>

#include "app/settings.h"
#include "core/network.h"

namespace sluice::app {

void BindHttp(const config::Section& root, Settings& st) {
  auto api = root.Table("api");
  api.RejectUnknown({"keys_file"});
  st.api_keys_file = api.String("keys_file", st.api_keys_file);

  auto m = root.Table("metrics");
  m.RejectUnknown({"enabled", "require_key", "max_label_values"});
  st.metrics.enabled = m.Bool("enabled", st.metrics.enabled);
  st.metrics.require_key = m.Bool("require_key", st.metrics.require_key);
  st.metrics.max_label_values = static_cast<std::size_t>(
      m.Int("max_label_values", static_cast<std::int64_t>(st.metrics.max_label_values), 1, 100000));

  std::set<std::string> names;
  for (const auto& l : st.listeners) {
    names.insert(l.smtp.name);
  }
  for (const auto& s : root.Tables("http")) {
    // clang-format off
    s.RejectUnknown({"name", "address", "port", "tls", "tls_cert", "tls_key", "tls_min_version",
                     "tls_ciphers", "tls_ciphersuites", "max_header_size",
                     "max_body_size", "max_connections", "idle_timeout", "request_timeout",
                     "max_requests_per_connection"});
    // clang-format on
    HttpListenerSettings out;
    auto& o = out.http;
    o.name = s.String("name", "");
    if (o.name.empty()) {
      s.Report("name", "every [[http]] listener needs a name");
    } else if (!names.insert(o.name).second) {
      s.Report("name", "duplicate listener name " + o.name);
    }
    o.address = s.String("address", o.address);
    if (!IpAddress::Parse(o.address)) {
      s.Report("address", "not an IP address: " + o.address);
    }
    o.port = static_cast<std::uint16_t>(s.Int("port", o.port, 0, 65535));
    auto& lim = o.limits;
    lim.max_header_size = static_cast<std::size_t>(
        s.Int("max_header_size", static_cast<std::int64_t>(lim.max_header_size), 1024, 1 << 20));
    lim.max_body_size = s.Size("max_body_size", lim.max_body_size);
    if (lim.max_body_size < 1024) {
      s.Report("max_body_size", "must be at least 1KiB");
    }
    lim.max_connections =
        static_cast<std::uint32_t>(s.Int("max_connections", lim.max_connections, 1, 1000000));
    lim.idle_timeout = s.Duration("idle_timeout", lim.idle_timeout);
    lim.request_timeout = s.Duration("request_timeout", lim.request_timeout);
    lim.max_requests_per_connection = static_cast<std::uint32_t>(
        s.Int("max_requests_per_connection", lim.max_requests_per_connection, 1, 100000000));
    BindTlsMode(s, st.server.hostname, out.tls, out.tls_files);
    st.http.push_back(std::move(out));
  }
}

}  // namespace sluice::app
