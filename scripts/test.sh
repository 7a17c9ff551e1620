#!/usr/bin/env bash
# Builds Sluice with AddressSanitizer + UndefinedBehaviorSanitizer and -Werror,
# then runs every test: unit tests and fuzz-corpus replays (ctest), and the
# end-to-end scenarios (pytest) against the sanitized sluiced.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
build=build-asan
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON \
  -DSLUICE_WERROR=ON >/dev/null
ninja -C "$build"

(cd "$build" && ctest --output-on-failure -j2)

SLUICED="$PWD/$build/src/app/sluiced" SLUICE_CLI="$PWD/$build/src/app/sluice" \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e
