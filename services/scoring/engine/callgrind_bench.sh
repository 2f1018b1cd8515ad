#!/usr/bin/env bash
# Instructions per scored email of one engine benchmark, counted by
# callgrind: repeatable on a shared machine where wall-clock timings are not.
#
#   services/scoring/engine/callgrind_bench.sh [BENCHMARK] [BENCH_BINARY]
#
# BENCHMARK defaults to BM_ScoreOneKilobyteEmail, BENCH_BINARY to
# build/bench/scoring_engine_bench. Only the benchmark's own loop is counted
# (loading the rules and bench/data/ is excluded); the total is divided by the number of
# Score() calls. RAPPORT_RULES selects the rules file as for the benchmark.
# Needs valgrind.
set -euo pipefail

NAME="${1:-BM_ScoreOneKilobyteEmail}"
BIN="${2:-build/bench/scoring_engine_bench}"
OUT="$(mktemp -d "${TMPDIR:-/tmp}/engine-callgrind.XXXXXX")"
trap 'rm -rf "${OUT}"' EXIT

valgrind --tool=callgrind --callgrind-out-file="${OUT}/cg.out" \
  "--toggle-collect=*::${NAME}(*" "--toggle-collect=*::Rules()" "--toggle-collect=*::LoadJson<*" \
  "${BIN}" --benchmark_filter="^${NAME}\$" --benchmark_min_time=0.3 \
  > /dev/null 2> "${OUT}/valgrind.log"
total="$(callgrind_annotate "${OUT}/cg.out" 2> /dev/null |
  awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')"
calls="$(callgrind_annotate --tree=calling --inclusive=yes "${OUT}/cg.out" 2> /dev/null |
  grep -E "> .*engine::Score\(" | head -1 | sed -E 's/.*\(([0-9,]+)x\).*/\1/' |
  tr -d ,)"
if [[ -z "${total}" || -z "${calls}" || "${calls}" -eq 0 ]]; then
  echo "callgrind_bench.sh: could not read the profile (see ${OUT}/valgrind.log)" >&2
  trap - EXIT
  exit 1
fi
echo "${NAME}: $((total / calls)) instructions per email (${calls} emails)"
