// Statistics on the publishing path: the cost of counting one delivery
// outcome (stats::Recorder into a stats::Store: three rows, minute, hour and
// day, gathered in memory), the cost of merging what gathered into RocksDB
// (the writer's work, once a second in sluiced; here after each batch of
// 50,000 events, timed apart), and of answering questions of a day of such
// traffic. Baseline, same run, same
// events: the cheapest counting there is, one mutex-guarded hash map
// increment per event keyed by the same dimensions (no time, no storage).
// bench/run.py --only stats runs it.
//
// usage: stats_bench DIR [events] [threads]    prints one JSON object

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "stats/query.h"
#include "stats/recorder.h"
#include "stats/store.h"

using namespace sluice;
using Steady = std::chrono::steady_clock;

namespace {

double Seconds(Steady::time_point since) {
  return std::chrono::duration<double>(Steady::now() - since).count();
}

// Event i of a day's traffic: 20 tenants, 200 campaigns, 8 providers, 2000
// destination domains, 16 egress sources; 90% delivered, 7% deferred, 3% bounced.
events::Outcome EventAt(std::uint64_t i, std::uint64_t n,
                        std::chrono::system_clock::time_point day) {
  const std::uint64_t h = i * 0x9E3779B97F4A7C15ull;
  events::Outcome o;
  const auto kind = h % 100;
  o.type = kind < 90   ? events::OutcomeType::kDelivery
           : kind < 97 ? events::OutcomeType::kTransientFailure
                       : events::OutcomeType::kBounce;
  o.bounce_class = o.type == events::OutcomeType::kBounce ? "bad-mailbox" : "";
  o.tenant = "tenant" + std::to_string(h % 20);
  o.campaign = "campaign" + std::to_string(h % 200);
  o.provider = "provider" + std::to_string((h >> 8) % 8);
  o.recipient =
      "user" + std::to_string(i) + "@domain" + std::to_string((h >> 16) % 2000) + ".example";
  o.egress_source = "ip" + std::to_string((h >> 24) % 16);
  o.timestamp = day + std::chrono::microseconds(static_cast<std::int64_t>(
                          86'400'000'000.0 * static_cast<double>(i) / static_cast<double>(n)));
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("usage: stats_bench DIR [events] [threads]\n", stderr);
    return 2;
  }
  const std::string dir = argv[1];
  const std::uint64_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 2'000'000;
  const unsigned threads = argc > 3 ? static_cast<unsigned>(std::atoi(argv[3])) : 2;
  std::filesystem::remove_all(dir);
  const auto day = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()) -
                   std::chrono::hours(24);
  std::vector<events::Outcome> evs;
  evs.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    evs.push_back(EventAt(i, n, day));
  }
  constexpr std::uint64_t kBatch = 50'000;
  double between_s = 0;
  auto run = [&](auto&& count, auto&& between) {
    double s = 0;
    for (std::uint64_t from = 0; from < n; from += kBatch) {
      const std::uint64_t to = std::min(n, from + kBatch);
      const auto t = Steady::now();
      std::vector<std::thread> ts;
      for (unsigned k = 0; k < threads; ++k) {
        ts.emplace_back([&, k] {
          for (std::uint64_t i = from + k; i < to; i += threads) {
            count(evs[i]);
          }
        });
      }
      for (auto& th : ts) {
        th.join();
      }
      s += Seconds(t);
      const auto b = Steady::now();
      between();
      between_s += Seconds(b);
    }
    return s;
  };

  // Baseline: one increment per event in a shared hash map.
  std::mutex mu;
  std::unordered_map<std::string, std::uint64_t> map;
  const double map_s = run(
      [&](const events::Outcome& e) {
        std::string key = e.tenant + '\0' + e.campaign + '\0' + e.provider + '\0' +
                          e.recipient.substr(e.recipient.find('@') + 1) + '\0' + e.egress_source;
        std::lock_guard lock(mu);
        ++map[key];
      },
      [] {});
  between_s = 0;

  auto opened = stats::Store::Open({.path = dir});
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.error().c_str());
    return 1;
  }
  auto store = std::move(opened).value();
  stats::Recorder recorder(*store);
  const double record_s =
      run([&](const events::Outcome& e) { recorder.OnOutcome(e); }, [&] { store->Flush(); });
  const double flush_s = between_s;
  const std::uint64_t dropped = store->failures();

  // Questions of the day: totals per hour; per provider per hour; per domain per day.
  auto ask = [&](std::chrono::seconds step, std::vector<stats::Dim> by) {
    stats::Query q;
    q.from = day;
    q.to = day + std::chrono::hours(24);
    q.step = step;
    q.group_by = std::move(by);
    const auto t0 = Steady::now();
    auto a = stats::Aggregate(*store, q);
    const double s = Seconds(t0);
    return a.ok() ? s * 1000 : -1.0;
  };
  const double q_total_ms = ask(std::chrono::hours(1), {});
  const double q_provider_ms = ask(std::chrono::hours(1), {stats::Dim::kProvider});
  const double q_domain_ms = ask(std::chrono::hours(24), {stats::Dim::kDomain});
  const double q_minute_ms = ask(std::chrono::minutes(10), {stats::Dim::kTenant});
  std::uint64_t disk = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) {
      disk += e.file_size();
    }
  }
  store.reset();
  std::filesystem::remove_all(dir);
  std::printf(
      "{\"events\": %llu, \"threads\": %u, \"record_ns\": %.0f, \"record_per_s\": %.0f, "
      "\"write_ns\": %.0f, \"dropped\": %llu, \"map_ns\": %.0f, \"map_per_s\": %.0f, "
      "\"disk_bytes\": %llu, "
      "\"query_day_hourly_ms\": %.1f, \"query_day_hourly_by_provider_ms\": %.1f, "
      "\"query_day_by_domain_ms\": %.1f, \"query_day_10min_by_tenant_ms\": %.1f}\n",
      static_cast<unsigned long long>(n), threads, record_s * 1e9 / static_cast<double>(n),
      static_cast<double>(n) / record_s, flush_s * 1e9 / static_cast<double>(n),
      static_cast<unsigned long long>(dropped), map_s * 1e9 / static_cast<double>(n),
      static_cast<double>(n) / map_s, static_cast<unsigned long long>(disk), q_total_ms,
      q_provider_ms, q_domain_ms, q_minute_ms);
  return 0;
}
