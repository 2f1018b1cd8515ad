#!/usr/bin/env bash
# CPU per draft of the ScoreMessages stream (or, with --unary, of
# ScoreMessage), by process, for one or more
# builds measured alternately (A/B comparisons on a machine whose speed
# drifts): for each round and each build directory, starts a private
# redis-server, profile-service and scoring-service on loopback, upserts
# the engine benchmark's recipient, warms up for 1 s, then streams the
# fault-heavy 1-KB email (bench/data/one_kilobyte_email.json; distinct drafts,
# 4 streams x 32 in flight) for --duration seconds and prints drafts/s and
# the CPU each process spent per draft (redis-server and scoring-service
# from /proc, the load generator from time(1)), and scoring-service's
# context switches per draft. --unary sends the same email on every call
# instead (ScoreMessage at concurrency 16: the report comes from the
# in-process cache, the record is written per call).
#
#   bench/stream_cpu.sh [--unary] [--duration S] [--rounds N] BIN_DIR [BIN_DIR ...]
#
# BIN_DIR holds scoring-service, profile-service, rapportctl and
# rapport-loadgen (e.g. build/bin, or the build of another commit in a git
# worktree). Uses ports 6631, 50641-50642 and 9641-9642.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=5 ROUNDS=3 DIRS=()
METHOD=rapport.scoring.v1.ScoringService/ScoreMessages
LOAD=(--concurrency 4 --window 32 --vary message.body)
while [[ $# -gt 0 ]]; do
  case $1 in
    --unary)
      METHOD=rapport.scoring.v1.ScoringService/ScoreMessage
      LOAD=(--concurrency 16)
      shift ;;
    --duration) DURATION=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    -*) echo "usage: $0 [--unary] [--duration S] [--rounds N] BIN_DIR [BIN_DIR ...]" >&2; exit 2 ;;
    *) DIRS+=("$1"); shift ;;
  esac
done
[[ ${#DIRS[@]} -gt 0 ]] || { echo "usage: $0 [--unary] [--duration S] [--rounds N] BIN_DIR [BIN_DIR ...]" >&2; exit 2; }
PY=/usr/bin/python3
EMAIL=bench/data/one_kilobyte_email.json

one() { # bin-dir
  local bin=$1 work pids=() redis_pid scoring_pid
  work=$(mktemp -d /tmp/rapport-stream-cpu.XXXX)
  redis-server --port 6631 --bind 127.0.0.1 --dir "$work" --save '' --appendonly no \
    >"$work/redis.log" 2>&1 &
  redis_pid=$!; pids+=("$redis_pid")
  trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' RETURN
  for _ in $(seq 50); do redis-cli -p 6631 ping >/dev/null 2>&1 && break; sleep 0.1; done
  export RAPPORT_REDIS_URL=redis://127.0.0.1:6631 RAPPORT_LOG_LEVEL=warn \
    RAPPORT_PROFILE_ADDR=127.0.0.1:50641
  "$bin/profile-service" --grpc-addr=127.0.0.1:50641 --metrics-addr=127.0.0.1:9641 \
    >"$work/profile.log" 2>&1 &
  pids+=($!)
  "$bin/scoring-service" --grpc-addr=127.0.0.1:50642 --metrics-addr=127.0.0.1:9642 \
    >"$work/scoring.log" 2>&1 &
  scoring_pid=$!; pids+=("$scoring_pid")
  for port in 50641 50642; do
    for _ in $(seq 100); do
      "$bin/rapportctl" health --target 127.0.0.1:$port >/dev/null 2>&1 && break
      sleep 0.1
    done
  done
  "$bin/rapport-loadgen" --target 127.0.0.1:50641 \
    --method rapport.profile.v1.ProfileService/UpsertContact \
    --request-file bench/data/one_kilobyte_email_contact.json --concurrency 1 --duration 0.2 \
    --warmup 0 >/dev/null
  "$bin/rapport-loadgen" --target 127.0.0.1:50642 --method $METHOD "${LOAD[@]}" \
    --duration 1 --warmup 0 --request-file $EMAIL >/dev/null
  ticks() { # utime+stime of redis-server and scoring-service; scoring's context switches
    awk '{printf "%s ", $14 + $15}' "/proc/$redis_pid/stat"
    awk '{printf "%s ", $14 + $15}' "/proc/$scoring_pid/stat"
    cat /proc/"$scoring_pid"/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}'
  }
  local before after
  before=$(ticks)
  /usr/bin/time -f "%U %S" -o "$work/loadgen.time" \
    "$bin/rapport-loadgen" --target 127.0.0.1:50642 --method $METHOD "${LOAD[@]}" \
    --duration "$DURATION" --warmup 0 --request-file $EMAIL --json \
    >"$work/loadgen.json"
  after=$(ticks)
  $PY - "$bin" "$before" "$after" "$work" "$(getconf CLK_TCK)" <<'PY'
import json, sys
bin_dir, before, after, work, hz = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
a = [int(x) for x in before.split()]
b = [int(x) for x in after.split()]
run = json.load(open(f"{work}/loadgen.json"))
drafts = run["ok"]
loadgen = sum(float(x) for x in open(f"{work}/loadgen.time").read().split())
us = lambda seconds: seconds / drafts * 1e6
redis, scoring = us((b[0] - a[0]) / hz), us((b[1] - a[1]) / hz)
print(f"{bin_dir}: {run['qps']:.0f} drafts/s ({run['errors']} errors); CPU µs per draft: "
      f"scoring {scoring:.1f}, redis {redis:.1f}, loadgen {us(loadgen):.1f}, "
      f"together {scoring + redis + us(loadgen):.1f}; "
      f"scoring context switches per draft {(b[2] - a[2]) / drafts:.2f}")
PY
}

for round in $(seq "$ROUNDS"); do
  echo "round $round"
  for dir in "${DIRS[@]}"; do one "$dir"; done
done
