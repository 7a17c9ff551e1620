#include "app/settings.h"

#include <gtest/gtest.h>

namespace sluice::app {
namespace {

TEST(Settings, EmbeddedDefaultsAreValid) {
  auto doc = config::Document::Parse(kDefaultConfig, "(embedded)");
  auto st = Bind(*doc);
  EXPECT_TRUE(doc->errors().empty()) << doc->errors().ToString();
  ASSERT_EQ(st.listeners.size(), 3u);
  for (const auto& l : st.listeners) {
    EXPECT_EQ(l.smtp.address, "127.0.0.1");
  }
  EXPECT_EQ(st.listeners[2].smtp.kind, smtp::ListenerKind::kSmtps);
}

TEST(Settings, ListenerLimitsBind) {
  auto doc = config::Document::Parse(
      "[[listener]]\nname = \"r\"\nport = 0\nmax_message_size = \"1MiB\"\nmax_recipients = 3\n"
      "command_timeout = \"2s\"\n",
      "t.toml");
  auto st = Bind(*doc);
  ASSERT_TRUE(doc->errors().empty()) << doc->errors().ToString();
  EXPECT_EQ(st.listeners[0].smtp.limits.max_message_size, 1u << 20);
  EXPECT_EQ(st.listeners[0].smtp.limits.max_recipients, 3u);
  EXPECT_EQ(st.listeners[0].smtp.limits.command_timeout, std::chrono::seconds(2));
}

TEST(Settings, ErrorsNameTheKey) {
  auto doc = config::Document::Parse(
      "[relay]\nnetworks = [\"10.0.0.0/33\"]\n\n[[listener]]\nname = \"a\"\nkind = \"mx\"\n"
      "[[listener]]\nname = \"a\"\nkind = \"smtps\"\naddress = \"192.0.2.1\"\n"
      "allow_plaintext_auth = true\n",
      "t.toml");
  Bind(*doc);
  std::string all = doc->errors().ToString();
  EXPECT_NE(all.find("t.toml:2: relay.networks: not a network"), std::string::npos) << all;
  EXPECT_NE(all.find("t.toml:6: listener[0].kind:"), std::string::npos) << all;
  EXPECT_NE(all.find("listener[1].name: duplicate"), std::string::npos) << all;
  EXPECT_NE(all.find("t.toml:11: listener[1].allow_plaintext_auth:"), std::string::npos) << all;
  EXPECT_NE(all.find("listener[1].tls: an smtps listener needs TLS"), std::string::npos) << all;
}

TEST(Settings, RoutesAndSmarthost) {
  auto doc = config::Document::Parse(
      "[delivery]\nsmarthost = \"relay.example:2525\"\n"
      "[[route]]\ndomain = \"Example.COM\"\nhosts = [\"a.example\", \"[192.0.2.1]:25\"]\n"
      "[[route]]\ndomain = \"bad..domain\"\nhosts = [\"x\"]\n"
      "[[listener]]\nname = \"r\"\n",
      "t.toml");
  auto st = Bind(*doc);
  ASSERT_EQ(st.delivery.routes.count("*"), 1u);
  EXPECT_EQ(st.delivery.routes["*"][0].port, 2525);
  ASSERT_EQ(st.delivery.routes.count("example.com"), 1u);
  EXPECT_EQ(st.delivery.routes["example.com"].size(), 2u);
  EXPECT_EQ(st.delivery.routes["example.com"][1].host, "[192.0.2.1]");
  EXPECT_NE(doc->errors().ToString().find("t.toml:7: route[1].domain: not a domain"),
            std::string::npos)
      << doc->errors().ToString();
}

TEST(Settings, TlsReports) {
  auto doc = config::Document::Parse(
      "[delivery]\nehlo_name = \"Mta.Example.COM\"\n[[listener]]\nname = \"r\"\n", "t.toml");
  auto st = Bind(*doc);
  ASSERT_TRUE(doc->errors().empty()) << doc->errors().ToString();
  EXPECT_TRUE(st.tls_reports.enabled);
  EXPECT_EQ(st.tls_reports.options.who.submitter, "mta.example.com");
  EXPECT_EQ(st.tls_reports.options.who.contact, "postmaster@mta.example.com");
  EXPECT_EQ(st.tls_reports.options.from, "noreply-tls-reports@mta.example.com");
  EXPECT_NE(st.tls_reports.state_file.find("tls-reports.state"), std::string::npos);

  doc = config::Document::Parse(
      "[tls_reports]\nsubmitter = \"not a domain\"\nfrom = \"nobody\"\ncolour = 1\n"
      "[[listener]]\nname = \"r\"\n",
      "t.toml");
  Bind(*doc);
  const std::string all = doc->errors().ToString();
  EXPECT_NE(all.find("t.toml:2: tls_reports.submitter: not a domain name"), std::string::npos)
      << all;
  EXPECT_NE(all.find("t.toml:3: tls_reports.from: not a mail address"), std::string::npos) << all;
  EXPECT_NE(all.find("tls_reports.colour"), std::string::npos) << all;
}

TEST(Settings, Tracking) {
  auto doc = config::Document::Parse(
      "[tracking]\nbase_url = \"https://t.example.com/\"\ntoo_soon = \"30s\"\n"
      "[unsubscribe]\nurl = \"https://u.example.com/u/\"\n"
      "[tenant.acme]\ntrack_opens = true\n[tenant.acme.campaign.spring]\ntrack_clicks = true\n"
      "[[listener]]\nname = \"r\"\n",
      "t.toml");
  auto st = Bind(*doc);
  ASSERT_TRUE(doc->errors().empty()) << doc->errors().ToString();
  EXPECT_EQ(st.ingest.tracking.settings.base_url, "https://t.example.com");
  EXPECT_EQ(st.ingest.tracking.settings.skip_prefix, "https://u.example.com/u/");
  EXPECT_EQ(st.tracking_too_soon, std::chrono::seconds(30));
  EXPECT_EQ(st.ingest.tracking.opens, std::set<std::string>{"acme"});
  EXPECT_EQ(st.ingest.tracking.clicks, std::set<std::string>{"acme:spring"});

  doc = config::Document::Parse(
      "[tracking]\nbase_url = \"ftp://t.example.com\"\n[[listener]]\nname = \"r\"\n", "t.toml");
  Bind(*doc);
  EXPECT_NE(doc->errors().ToString().find("t.toml:2: tracking.base_url: an http(s):// URL"),
            std::string::npos)
      << doc->errors().ToString();
}

TEST(Settings, Stats) {
  auto doc = config::Document::Parse(
      "[stats]\npath = \"/var/lib/sluice/stats\"\nminute_retention = \"6h\"\n"
      "hour_retention = \"30d\"\nmax_domains = 50\n[[listener]]\nname = \"r\"\n",
      "t.toml");
  auto st = Bind(*doc);
  ASSERT_TRUE(doc->errors().empty()) << doc->errors().ToString();
  EXPECT_TRUE(st.stats.enabled);
  EXPECT_EQ(st.stats.store.path, "/var/lib/sluice/stats");
  EXPECT_EQ(st.stats.store.minute_retention, std::chrono::hours(6));
  EXPECT_EQ(st.stats.store.hour_retention, std::chrono::hours(30 * 24));
  EXPECT_EQ(st.stats.store.day_retention, std::chrono::hours(732 * 24));
  EXPECT_EQ(st.stats.store.max_domains, 50u);

  doc = config::Document::Parse(
      "[stats]\nminute_retention = \"90d\"\nmax_domains = 0\n[[listener]]\nname = \"r\"\n",
      "t.toml");
  Bind(*doc);
  const auto errors = doc->errors().ToString();
  EXPECT_NE(errors.find("t.toml:2: stats.minute_retention: must be 1h to 31d"), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("t.toml:3: stats.max_domains"), std::string::npos) << errors;
}

TEST(Settings, PoolsTenantsAndNamedWarmupPlans) {
  auto doc = config::Document::Parse(
      "[[listener]]\nname = \"r\"\n"
      "[egress]\ndefault_pool = \"shared\"\n"
      "[egress.warmup.new-ip]\nplan = [10, 20]\n"
      "[[egress.source]]\nname = \"a\"\naddress = \"2001:DB8::0:1\"\nweight = 2\n"
      "[[egress.source]]\nname = \"b\"\naddress = \"127.0.0.2\"\nwarmup = \"new-ip\"\n"
      "warmup_start = \"2026-11-01T00:00:00Z\"\n"
      "[[egress.pool]]\nname = \"shared\"\nsources = [\"a\", \"b\"]\n"
      "[[egress.pool]]\nname = \"bulk\"\nsources = [\"b\"]\nweights = [5]\n"
      "[tenant.acme]\nusers = [\"alice\", \"bob\"]\npool = \"bulk\"\n"
      "[tenant.acme.campaign.spring]\npool = \"shared\"\n",
      "t.toml");
  auto st = Bind(*doc);
  ASSERT_TRUE(doc->errors().empty()) << doc->errors().ToString();
  const auto& d = st.delivery;
  EXPECT_EQ(d.egress.sources[0].address, "2001:db8::1");  // canonical, as shaping rules key it
  ASSERT_EQ(d.egress.pools.size(), 2u);
  EXPECT_EQ(d.egress.pools[0].sources, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(d.egress.pools[0].weights, (std::vector<std::uint32_t>{2, 1}));  // the sources' own
  EXPECT_EQ(d.egress.pools[1].weights, (std::vector<std::uint32_t>{5}));
  EXPECT_EQ(d.egress.default_pool, "shared");
  EXPECT_EQ(d.egress.tenant_pools.at("acme"), "bulk");
  EXPECT_EQ(d.egress.campaign_pools.at("spring:acme"), "shared");
  EXPECT_EQ(st.ingest.user_tenants.at("bob"), "acme");
  ASSERT_TRUE(d.egress.warmup);
  // An hour into 2026-11-01, the plan's day 1.
  auto day1 = std::chrono::system_clock::time_point(std::chrono::seconds(1793491200 + 3600));
  EXPECT_EQ(d.egress.warmup->Cap("b", day1), 10u);
  EXPECT_FALSE(d.egress.warmup->HasSchedule("a"));
}

TEST(Settings, PoolAndTenantErrorsNameTheKey) {
  auto doc = config::Document::Parse(
      "[[listener]]\nname = \"r\"\n"
      "[[egress.source]]\nname = \"a\"\naddress = \"127.0.0.2\"\nwarmup = \"x\"\n"
      "[[egress.pool]]\nname = \"p\"\nsources = [\"a\", \"a\"]\nweights = [1]\n"
      "[tenant.acme]\nusers = [\"alice\"]\n"
      "[tenant.other]\nusers = [\"alice\"]\n",
      "t.toml");
  Bind(*doc);
  std::string all = doc->errors().ToString();
  EXPECT_NE(all.find("egress.source[0].warmup_start: a warm-up needs"), std::string::npos) << all;
  EXPECT_NE(all.find("egress.pool[0].weights: one weight per source"), std::string::npos) << all;
  EXPECT_NE(all.find("egress.pool[0].sources: a is listed twice"), std::string::npos) << all;
  EXPECT_NE(all.find("tenant.other.users: alice already sends as tenant acme"), std::string::npos)
      << all;
}

TEST(Settings, NoListenersIsAnError) {
  auto doc = config::Document::Parse("[server]\nhostname = \"mx.test\"\n", "t.toml");
  Bind(*doc);
  EXPECT_NE(doc->errors().ToString().find("listener: at least one"), std::string::npos);
}

}  // namespace
}  // namespace sluice::app
