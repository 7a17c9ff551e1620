// Suppression lookups at scale: fills a RocksStore with N entries (spread over
// the global list, a tenant's and a campaign's), then times Find() as ingest
// calls it (tenant and campaign given: up to six keys, in one MultiGet) for
// addresses on a list and addresses on none, and reads the memory it holds.
// Baseline, same run, same keys: a std::unordered_set<std::string> of the
// entries (what an in-memory list costs: fast, and memory that grows with it).
// bench/run.py --only suppression runs it.
//
// usage: suppression_bench DIR [entries] [lookups]    prints one JSON object

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "suppression/rocks_store.h"

using namespace sluice;
using Clock = std::chrono::steady_clock;

namespace {

std::string MailAddress(std::uint64_t i) {
  // Realistic lengths; a hash spreads them over the key space.
  std::uint64_t h = i * 0x9E3779B97F4A7C15ull;
  return "user" + std::to_string(h % 1000000007ull) + "." + std::to_string(i) + "@d" +
         std::to_string(h % 5000) + ".example";
}

suppression::Scope ScopeOf(std::uint64_t i) {
  switch (i % 3) {
    case 0:
      return {};
    case 1:
      return {"acme", ""};
    default:
      return {"acme", "spring"};
  }
}

std::uint64_t RssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
    }
  }
  return 0;
}

std::uint64_t DirBytes(const std::string& dir) {
  std::uint64_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) {
      n += e.file_size();
    }
  }
  return n;
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("usage: suppression_bench DIR [entries] [lookups]\n", stderr);
    return 2;
  }
  const std::string dir = argv[1];
  const std::uint64_t entries = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 10'000'000;
  const std::uint64_t lookups = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1'000'000;
  std::filesystem::remove_all(dir);
  const std::uint64_t rss_start = RssBytes();

  suppression::RocksOptions o;
  o.path = dir;
  auto opened = suppression::RocksStore::Open(o);
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.error().c_str());
    return 1;
  }
  auto store = std::move(opened).value();
  const auto now = std::chrono::system_clock::now();
  auto t = Clock::now();
  std::vector<suppression::Entry> batch;
  for (std::uint64_t i = 0; i < entries; ++i) {
    suppression::Entry e;
    e.address = MailAddress(i);
    e.scope = ScopeOf(i);
    e.reason = suppression::Reason::kHardBounce;
    e.created = now;
    e.source = "bench";
    batch.push_back(std::move(e));
    if (batch.size() == 10000 || i + 1 == entries) {
      if (auto r = store->Add(batch); !r) {
        std::fprintf(stderr, "%s\n", r.error().c_str());
        return 1;
      }
      batch.clear();
    }
  }
  const double fill_s = Seconds(t);
  t = Clock::now();
  store->Compact();
  const double compact_s = Seconds(t);

  std::mt19937_64 rng(8058);
  auto time_finds = [&](bool present) {
    std::uint64_t found = 0;
    std::vector<std::string> keys;
    keys.reserve(lookups);
    for (std::uint64_t i = 0; i < lookups; ++i) {
      const std::uint64_t k = rng() % entries;
      keys.push_back(present ? MailAddress(k) : MailAddress(k + entries));
    }
    const auto start = Clock::now();
    for (const auto& k : keys) {
      found += store->Find(k, "acme", "spring", now) ? 1 : 0;
    }
    return std::pair{Seconds(start) * 1e6 / static_cast<double>(lookups), found};
  };
  const auto [hit_us, hits] = time_finds(true);
  const auto [miss_us, misses_found] = time_finds(false);
  const std::uint64_t store_mem = store->MemoryBytes();
  const std::uint64_t rss_store = RssBytes();
  const std::uint64_t disk = DirBytes(dir);
  store.reset();

  // Baseline: the same entries in memory (scope and address as one key).
  const std::uint64_t rss_before_set = RssBytes();
  t = Clock::now();
  std::unordered_set<std::string> set;
  set.reserve(entries);
  for (std::uint64_t i = 0; i < entries; ++i) {
    const auto s = ScopeOf(i);
    set.insert(s.tenant + '\0' + s.campaign + '\0' + MailAddress(i));
  }
  const double set_fill_s = Seconds(t);
  const std::uint64_t rss_set = RssBytes();
  std::vector<std::string> probe;
  probe.reserve(lookups);
  for (std::uint64_t i = 0; i < lookups; ++i) {
    probe.push_back(MailAddress(rng() % (2 * entries)));
  }
  const auto start = Clock::now();
  std::uint64_t set_found = 0;
  for (const auto& a : probe) {
    // As Find looks: campaign, tenant, global lists.
    const std::string c = std::string("acme") + '\0' + "spring" + '\0' + a;
    const std::string tn = std::string("acme") + '\0' + '\0' + a;
    const std::string g = std::string("\0\0", 2) + a;
    set_found += (set.count(c) + set.count(tn) + set.count(g)) > 0 ? 1 : 0;
  }
  const double set_us = Seconds(start) * 1e6 / static_cast<double>(lookups);

  std::printf(
      "{\"entries\": %llu, \"lookups\": %llu, \"fill_s\": %.2f, \"compact_s\": %.2f, "
      "\"disk_bytes\": %llu, \"find_hit_us\": %.3f, \"find_miss_us\": %.3f, \"hits\": %llu, "
      "\"false_hits\": %llu, \"store_memory_bytes\": %llu, \"rss_store_bytes\": %llu, "
      "\"rss_start_bytes\": %llu, \"set_fill_s\": %.2f, \"set_lookup_us\": %.3f, "
      "\"set_found\": %llu, \"set_rss_bytes\": %llu}\n",
      static_cast<unsigned long long>(entries), static_cast<unsigned long long>(lookups), fill_s,
      compact_s, static_cast<unsigned long long>(disk), hit_us, miss_us,
      static_cast<unsigned long long>(hits), static_cast<unsigned long long>(misses_found),
      static_cast<unsigned long long>(store_mem), static_cast<unsigned long long>(rss_store),
      static_cast<unsigned long long>(rss_start), set_fill_s, set_us,
      static_cast<unsigned long long>(set_found),
      static_cast<unsigned long long>(rss_set - rss_before_set));
  std::filesystem::remove_all(dir);
  return 0;
}
