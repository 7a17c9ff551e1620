#include "app/tls_cmd.h"

#include <cstdio>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include "app/cli_resolver.h"
#include "app/run_sync.h"
#include "core/durable_file.h"
#include "delivery/explain.h"
#include "delivery/tls_policy.h"
#include "mtasts/policies.h"

namespace sluice::app {
namespace {

namespace asio = boost::asio;

int Usage() {
  std::fputs("usage: sluice [--config FILE] tls check DOMAIN\n", stderr);
  return 2;
}

std::string Patterns(const mtasts::Policy& p) {
  std::string out;
  for (const auto& m : p.mx) {
    out += (out.empty() ? "" : ", ") + m;
  }
  return out.empty() ? "-" : out;
}

std::string Hex(std::string_view data) {
  std::string out;
  for (std::size_t i = 0; i < data.size() && i < 8; ++i) {
    out += fmt::format("{:02x}", static_cast<unsigned char>(data[i]));
  }
  return data.size() > 8 ? out + "..." : out;
}

struct Report {
  std::string text;
  bool all_usable = true;
};

asio::awaitable<Report> Check(const Settings& st, dns::Resolver& resolver,
                              mtasts::Policies* policies, const mtasts::Policies* cached,
                              delivery::ExplainQuery query) {
  Report out;
  const std::string domain = query.domain;
  delivery::Explanation e =
      co_await delivery::Explain(st.delivery, st.delivery.shaping, resolver, std::move(query));
  const shaping::Tls configured = e.effective.tls;
  auto origin = e.effective.origin.find("tls");
  std::string hosts;
  for (const auto& h : e.hosts) {
    hosts += (hosts.empty() ? "" : ", ") + h;
  }
  out.text += fmt::format("domain      {}\nhosts       {} ({})\nconfigured  tls = {} ({})\n",
                          domain, hosts.empty() ? "-" : hosts, e.via, shaping::ToString(configured),
                          origin == e.effective.origin.end() ? "built-in" : origin->second);
  std::shared_ptr<const mtasts::Policy> sts;
  if (policies != nullptr && e.via == "MX") {
    auto found = co_await policies->For(domain);
    if (found.policy) {
      out.text += fmt::format("mta-sts     id {}, mode {}, max_age {}, mx: {}\n", found.policy->id,
                              mtasts::ToString(found.policy->mode), found.policy->max_age,
                              Patterns(*found.policy));
      if (found.policy->mode != mtasts::Mode::kNone) {
        sts = found.policy;
      }
    } else {
      out.text += "mta-sts     none published\n";
    }
    if (found.failure) {
      out.text += fmt::format("            fetch failed ({}): {}\n", found.failure->result_type,
                              found.failure->detail);
    }
    if (auto c = cached != nullptr ? cached->Cached(domain) : nullptr) {
      out.text += fmt::format("            the daemon has cached id {}, mode {}\n", c->id,
                              mtasts::ToString(c->mode));
      if (!sts && c->mode != mtasts::Mode::kNone) {
        sts = c;  // what delivery would use: a cached policy outlives a failed fetch
      }
    }
  } else if (policies == nullptr) {
    out.text += "mta-sts     not honoured ([delivery] mta_sts = false)\n";
  }
  for (const auto& host : e.hosts) {
    std::optional<Result<dns::TlsaSet, dns::DnsError>> tlsa;
    std::string dane;
    if (delivery::WantsTlsa(configured, st.delivery.dane, host)) {
      tlsa = co_await resolver.ResolveTlsa(host, st.delivery.port);
      if (!*tlsa) {
        dane = std::string("TLSA lookup failed: ") + dns::ToString(tlsa->error());
      } else if (tlsa->value().records.empty()) {
        dane = tlsa->value().secure ? "signed, no TLSA" : "no DNSSEC-validated TLSA";
      } else {
        for (const auto& r : tlsa->value().records) {
          dane += fmt::format("{}{} {} {} {}", dane.empty() ? "TLSA " : "; ", r.usage, r.selector,
                              r.mtype, Hex(r.data));
        }
      }
    } else {
      dane = "DANE not looked up";
    }
    auto decided = delivery::DecideHostTls(configured, host, tlsa ? &*tlsa : nullptr, sts.get());
    if (!decided) {
      out.all_usable = false;
      out.text += fmt::format("{}\n  not used now: {} ({})\n  {}\n", host,
                              decided.error().reply.text, decided.error().result_type, dane);
      continue;
    }
    const char* tls = decided->tls == smtp::TlsPolicy::kDisabled   ? "no TLS"
                      : decided->tls == smtp::TlsPolicy::kRequired ? "TLS required"
                                                                   : "TLS if offered";
    const char* auth = decided->auth.kind == tls::PeerAuth::Kind::kDane
                           ? "certificate must match TLSA"
                       : decided->auth.kind == tls::PeerAuth::Kind::kPkix
                           ? (decided->enforced ? "certificate must be valid for the host"
                                                : "certificate checked, failures only reported")
                           : "any certificate";
    out.text +=
        fmt::format("{}\n  policy {}: {}, {}\n  {}\n", host, decided->policy, tls, auth, dane);
  }
  co_return out;
}

}  // namespace

int TlsCommand(const Settings& st, const std::vector<std::string>& args) {
  if (args.size() != 2 || args[0] != "check") {
    return Usage();
  }
  auto query = delivery::MakeExplainQuery(args[1], "", "", "");
  if (!query) {
    std::fprintf(stderr, "sluice: %s\n", query.error().c_str());
    return 2;
  }
  asio::io_context ioc;
  auto resolver = CliResolver(ioc, st);
  if (!resolver) {
    return 1;
  }
  std::unique_ptr<mtasts::Fetcher> fetcher;
  std::unique_ptr<mtasts::Policies> policies;
  std::unique_ptr<mtasts::Policies> cached;
  if (st.mta_sts) {
    auto ctx = tls::MakeClientContext(st.delivery_tls);
    if (!ctx) {
      std::fprintf(stderr, "sluice: %s\n", ctx.error().c_str());
      return 1;
    }
    fetcher = mtasts::MakeHttpsFetcher(ioc.get_executor(), *resolver, std::move(ctx).value(),
                                       {.port = st.mta_sts_port});
    policies = std::make_unique<mtasts::Policies>(Clock::System(), *resolver, *fetcher, "");
    // The daemon's cache, read only (a fresh fetch is shown beside it).
    cached = std::make_unique<mtasts::Policies>(Clock::System(), *resolver, *fetcher, "");
    std::string text;
    if (ReadWholeFile(st.mta_sts_file, &text)) {
      cached->Deserialize(text);
    }
  }
  auto report =
      RunSync(ioc, Check(st, *resolver, policies.get(), cached.get(), std::move(query).value()));
  if (!report) {
    std::fputs("sluice: internal error\n", stderr);
    return 1;
  }
  std::fputs(report->text.c_str(), stdout);
  return report->all_usable ? 0 : 1;
}

}  // namespace sluice::app
