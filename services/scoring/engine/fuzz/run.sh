#!/usr/bin/env bash
# Builds the scoring engine's libFuzzer targets with clang
# (-fsanitize=fuzzer,address,undefined) outside the main CMake build, then
# runs each for N seconds (default 60; CI passes 60).
#
#   services/scoring/engine/fuzz/run.sh [SECONDS]
#
# Targets: tokenizer_fuzz (tokenizer + greeting/signature/quote/sentence
# analysis on arbitrary bytes) and engine_fuzz (Score() and one Learn() step
# on fuzzed drafts, profiles and senders). Both load the default rules file.
# Build output and the working corpus go to $RAPPORT_FUZZ_DIR (default
# ${TMPDIR:-/tmp}/rapport-scoring-fuzz); the seed corpus in fuzz/corpus is
# only read. A crash leaves crash-* files in the output directory and makes
# this script fail.
#
# Needs: clang (clang++-14 on Debian bookworm: packages clang-14 and
# libclang-rt-14-dev, or the "clang" package), protoc, and the -dev packages
# the main build uses (protobuf, re2, ICU, Abseil, OpenSSL), found through
# pkg-config.
set -euo pipefail

SECONDS_PER_TARGET="${1:-60}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${HERE}/../../../.." && pwd)"
OUT="${RAPPORT_FUZZ_DIR:-${TMPDIR:-/tmp}/rapport-scoring-fuzz}"
JOBS="${RAPPORT_FUZZ_JOBS:-2}"

CXX="${CXX:-}"
if [[ -z "${CXX}" ]]; then
  for c in clang++-14 clang++; do
    if command -v "$c" > /dev/null; then CXX="$c"; break; fi
  done
fi
[[ -n "${CXX}" ]] || { echo "run.sh: clang++ not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }

mkdir -p "${OUT}/gen" "${OUT}/obj"

# 1. Protobuf code for the messages the engine uses.
PROTOS=(rapport/common/v1/common.proto rapport/profile/v1/profile.proto
        rapport/scoring/v1/scoring.proto rapport/scoring/v1/rules.proto)
protoc -I "${ROOT}/protos" --cpp_out="${OUT}/gen" "${PROTOS[@]}"

PKGS=(protobuf re2 icu-uc libcrypto absl_strings absl_status absl_statusor
      absl_hash absl_raw_hash_set)
# shellcheck disable=SC2207
CFLAGS=($(pkg-config --cflags "${PKGS[@]}"))
# shellcheck disable=SC2207
LIBS=($(pkg-config --libs "${PKGS[@]}"))

SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined
     -fno-omit-frame-pointer)
FLAGS=(-std=c++20 -O1 -g "${SAN[@]}" -I "${ROOT}" -I "${OUT}/gen" "${CFLAGS[@]}"
       "-DRAPPORT_DEFAULT_RULES=\"${ROOT}/services/scoring/rules/default.textproto\"")

# 2. The engine and the protos, instrumented for coverage (fuzzer-no-link).
SOURCES=()
for p in "${PROTOS[@]}"; do SOURCES+=("${OUT}/gen/${p%.proto}.pb.cc"); done
while IFS= read -r f; do SOURCES+=("$f"); done < <(
  find "${ROOT}/services/scoring/engine" -name '*.cc' \
    ! -path '*/fuzz/*' ! -name '*_bench.cc' | sort)

# Objects are reused between runs while no engine source, header or proto
# changed.
STAMP="$(cat "${ROOT}"/services/scoring/engine/*.{h,cc} \
            "${ROOT}"/services/scoring/engine/text/*.{h,cc} \
            "${ROOT}"/protos/rapport/*/v1/*.proto | sha256sum | cut -c1-16)"
if [[ "$(cat "${OUT}/obj/.stamp" 2> /dev/null || true)" != "${STAMP}" ]]; then
  rm -f "${OUT}"/obj/*.o
  echo "${STAMP}" > "${OUT}/obj/.stamp"
fi

OBJECTS=()
running=0
echo "building ${#SOURCES[@]} sources with ${CXX} (${JOBS} jobs) ..."
for src in "${SOURCES[@]}"; do
  obj="${OUT}/obj/$(echo "${src#"${ROOT}"/}" | tr '/' '_').o"
  OBJECTS+=("${obj}")
  if [[ ! -f "${obj}" || "${src}" -nt "${obj}" ]]; then
    "${CXX}" "${FLAGS[@]}" -fsanitize=fuzzer-no-link -c "${src}" -o "${obj}" &
    running=$((running + 1))
    if (( running >= JOBS )); then wait -n; running=$((running - 1)); fi
  fi
done
wait

# 3. The fuzz targets, and a run of each.
status=0
for target in tokenizer_fuzz engine_fuzz; do
  "${CXX}" "${FLAGS[@]}" -fsanitize=fuzzer "${HERE}/${target}.cc" "${OBJECTS[@]}" \
    "${LIBS[@]}" -o "${OUT}/${target}"
  corpus_name="${target%_fuzz}"
  work="${OUT}/corpus/${corpus_name}"
  mkdir -p "${work}"
  cp -n "${HERE}/corpus/${corpus_name}/"* "${work}/" 2> /dev/null || true
  echo "running ${target} for ${SECONDS_PER_TARGET}s ..."
  if ! (cd "${OUT}" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "./${target}" -max_total_time="${SECONDS_PER_TARGET}" -max_len=8192 \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${work}" \
        > "${OUT}/${target}.log" 2>&1); then
    echo "${target}: FAILED (see ${OUT}/${target}.log)" >&2
    tail -40 "${OUT}/${target}.log" >&2
    status=1
  else
    grep -E "^stat::number_of_executed_units|^stat::new_units_added|Done [0-9]+ runs" \
      "${OUT}/${target}.log" || true
    echo "${target}: no crash in ${SECONDS_PER_TARGET}s"
  fi
done
exit "${status}"
