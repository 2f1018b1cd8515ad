#!/usr/bin/env bash
# The whole test suite from a fresh checkout: installs what is missing,
# builds with warnings as errors, and runs every unit, integration and
# end-to-end test with CTest (tests start their own redis-server and
# binaries on free loopback ports).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
cmake --preset ci
cmake --build --preset ci
ctest --preset ci -j "$(nproc)" "$@"
