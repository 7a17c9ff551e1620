#!/usr/bin/env bash
# Builds Sluice (release) and runs the benchmark suite, bench/run.py: relay
# throughput beside the smtp-source -> smtp-sink ceiling and a tuned Postfix
# relay, backlog memory, recovery time, end-of-DATA latency, and DKIM
# signatures per second beside `openssl speed`. Prints a table
# and writes bench/results/<UTC time>.json. Arguments go to bench/run.py
# (--quick: a short smoke run; --only relay|backlog|latency|dkim|stats|...; --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh bench
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_TESTS=OFF >/dev/null
ninja -C build sluiced sluice dkim_bench suppression_bench stats_bench
exec /usr/bin/python3 bench/run.py "$@"
