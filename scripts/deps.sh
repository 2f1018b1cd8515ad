#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Rapport builds, runs and tests with.
# Only missing packages are installed, so a second run costs a second.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libhiredis-dev prometheus-cpp-dev libabsl-dev libssl-dev openssl libre2-dev libcsv-dev
  libjemalloc-dev             # the allocator of every server and tool (CMakeLists.txt)
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server prometheus docker-compose
  python3 python3-grpcio python3-protobuf
  clang-format
  libicu-dev                  # the scoring engine's Unicode properties and case folding
  clang-14 libclang-rt-14-dev # libFuzzer targets of the scoring engine (CI runs them)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
