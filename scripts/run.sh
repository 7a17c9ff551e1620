#!/usr/bin/env bash
# Builds Sluice (release) and runs sluiced on its embedded default configuration:
# relay on 127.0.0.1:2525, submission on :2587, smtps on :2465 (self-signed
# certificates), spool and event log under ./var. Extra arguments go to sluiced.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_TESTS=OFF >/dev/null
ninja -C build sluiced sluice
exec build/src/app/sluiced "$@"
