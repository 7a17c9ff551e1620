#!/usr/bin/env bash
# Installs what Sluice needs to build, run and test on Debian 12.
# Usage: scripts/install-deps.sh [build|test|bench]
set -euo pipefail
want=${1:-build}

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libssl-dev librocksdb-dev libtomlplusplus-dev
  libfmt-dev libspdlog-dev libsodium-dev libidn2-dev libunbound-dev libevent-dev
  # Mustache templates for the HTTP API (header-only; libmstch-dev would pull
  # in Boost 1.74, which cannot sit beside libboost1.81-dev)
  libkainjow-mustache-dev
  # RE2: the bounce classifier's patterns, matched as one set in linear time
  libre2-dev
  # libunbound's pkg-config file requires nettle and hogweed (nettle-dev brings both)
  nettle-dev
  # zstd for the event log's rotated files
  libzstd-dev
  # gzip for TLS reports (RFC 8460 §5.1)
  zlib1g-dev
  # DMARC aggregate reports: XML (expat) in gzip or zip (libarchive)
  libexpat1-dev libarchive-dev
)
test_pkgs=(
  libgtest-dev libgmock-dev clang libclang-rt-14-dev
  python3 python3-pytest python3-aiosmtpd python3-dkim python3-nacl python3-dnspython dnsmasq-base swaks libnet-ssleay-perl libio-socket-ssl-perl openssl
  postfix git curl python3-jsonschema python3-prometheus-client zstd
  # DANE scenarios: an authoritative server for DNSSEC-signed test zones
  nsd ldnsutils
  # The dashboard's test: a real headless browser, driven through WebDriver
  chromium chromium-driver python3-selenium fonts-dejavu-core
  # promtool checks and tests the shipped alerting rules (etc/prometheus)
  prometheus
)

# The benchmarks (and their smoke test) drive Postfix's smtp-source and
# smtp-sink, and compare with a private Postfix instance; the package's own
# instance is left unconfigured and never started.
bench_pkgs=(python3 postfix git)

pkgs=("${build_pkgs[@]}")
[ "$want" = test ] && pkgs+=("${test_pkgs[@]}")
[ "$want" = bench ] && pkgs+=("${bench_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # The tests run nsd privately (loopback, a port of their own); the system
  # instance the package sets up would listen on port 53 of every interface.
  if printf '%s\n' "${missing[@]}" | grep -qx nsd && command -v systemctl >/dev/null &&
     [ -d /run/systemd/system ]; then
    systemctl disable --now nsd.service >/dev/null 2>&1 || true
  fi
  # Only promtool is wanted from prometheus: the server the package starts
  # would listen on port 9090 of every interface.
  if printf '%s\n' "${missing[@]}" | grep -qx prometheus && command -v systemctl >/dev/null &&
     [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  fi
fi
