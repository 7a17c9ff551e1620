// Signatures per second through Sluice's whole DKIM signing path (dkim::Sign:
// canonicalisation, body and header hashes, the private-key operation) on
// `threads` threads for `seconds`, for rsa-sha256 (2048-bit key) and
// ed25519-sha256. bench/run.py --only dkim prints it beside `openssl speed`.
//
// usage: dkim_bench [threads] [seconds] [rsa2048|ed25519]    prints one JSON object

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "dkim/key.h"
#include "dkim/sign.h"

using namespace sluice;

namespace {

std::string Message() {
  std::string m =
      "From: Example Shop <news@shop.example>\r\n"
      "To: customer@mail.example\r\n"
      "Subject: Your weekly offers, folded over\r\n two lines\r\n"
      "Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
      "Message-ID: <20261126100000.1234@shop.example>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "List-Unsubscribe: <https://shop.example/u/123>, <mailto:u-123@shop.example>\r\n"
      "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
      "\r\n";
  while (m.size() < 1000) {
    m += "This week only: everything you did not know you needed, at a price.  \r\n";
  }
  return m;
}

double Rate(const dkim::PrivateKey& key, int threads, double seconds) {
  const std::string msg = Message();
  dkim::SignOptions o;
  o.domain = "shop.example";
  o.selector = "bench";
  std::atomic<bool> stop{false};
  std::atomic<long> total{0};
  std::vector<std::thread> pool;
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      long n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        auto r = dkim::Sign(key, o, msg);
        if (!r) {
          std::fprintf(stderr, "sign failed: %s\n", r.error().c_str());
          std::exit(1);
        }
        ++n;
      }
      total += n;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : pool) {
    t.join();
  }
  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return static_cast<double>(total.load()) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : static_cast<int>(std::thread::hardware_concurrency());
  double seconds = argc > 2 ? std::atof(argv[2]) : 5.0;
  auto rsa = dkim::PrivateKey::Generate(dkim::Algorithm::kRsaSha256, 2048);
  auto ed = dkim::PrivateKey::Generate(dkim::Algorithm::kEd25519Sha256);
  if (!rsa || !ed) {
    std::fputs("key generation failed\n", stderr);
    return 1;
  }
  std::string only = argc > 3 ? argv[3] : "";
  double r = only.empty() || only == "rsa2048" ? Rate(rsa.value(), threads, seconds) : 0;
  double e = only.empty() || only == "ed25519" ? Rate(ed.value(), threads, seconds) : 0;
  std::printf("{\"threads\": %d, \"seconds\": %.1f, \"rsa2048\": %.1f, \"ed25519\": %.1f}\n",
              threads, seconds, r, e);
  return 0;
}
