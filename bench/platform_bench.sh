#!/usr/bin/env bash
# Service throughput against the echo baseline, measured in ONE run on this
# machine (client and servers share its cores, so only ratios travel):
# starts a private redis-server, echo-server and the services on loopback
# ports, seeds data, drives each RPC with rapport-loadgen, and prints a
# table of QPS, p50, p99 and the ratios to echo.
#
#   bench/platform_bench.sh [--duration S] [--concurrency N] [--import N]
#
# Needs a RelWithDebInfo/Release build in build/ (cmake --preset default).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/build/bin}
DURATION=10 CONCURRENCY=16 IMPORT=100000
while [[ $# -gt 0 ]]; do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    --import) IMPORT=$2; shift 2 ;;
    *) echo "usage: $0 [--duration S] [--concurrency N] [--import N]" >&2; exit 2 ;;
  esac
done
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/rapport-bench.XXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

REDIS_PORT=6530
redis-server --port $REDIS_PORT --bind 127.0.0.1 --dir "$WORK" --save '' --appendonly no \
  --daemonize no >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do redis-cli -p $REDIS_PORT ping >/dev/null 2>&1 && break; sleep 0.1; done

export RAPPORT_REDIS_URL=redis://127.0.0.1:$REDIS_PORT RAPPORT_LOG_LEVEL=warn
export RAPPORT_PROFILE_ADDR=127.0.0.1:50541 RAPPORT_SCORING_ADDR=127.0.0.1:50542
start() { # binary grpc-port metrics-port
  "$BIN/$1" --grpc-addr=127.0.0.1:$2 --metrics-addr=127.0.0.1:$3 >"$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do "$BIN/rapportctl" health --target 127.0.0.1:$2 >/dev/null 2>&1 && return; sleep 0.1; done
  echo "$1 did not start; see $WORK/$1.log" >&2; exit 1
}
start echo-server 50540 9540
start profile-service 50541 9541

load() { # label target method request [extra flags]
  local label=$1 target=$2 method=$3 request=$4; shift 4
  "$BIN/rapport-loadgen" --target "$target" --method "$method" --request "$request" \
    --concurrency "$CONCURRENCY" --duration "$DURATION" --json "$@" >"$WORK/$label.json"
  echo "$label" >>"$WORK/order"
}

MITCH='{"contact":{"id":"bench-mitch","full_name":"Mitchell Grant","preferred_name":"Mitch","email":"mitch@example.com","title":"VP Sales","company":"Acme Logistics","industry":"Logistics","priorities":["cut onboarding time for new reps"],"challenges":["rep churn in EMEA"]}}'
"$BIN/rapport-loadgen" --target 127.0.0.1:50541 --method rapport.profile.v1.ProfileService/UpsertContact \
  --request "$MITCH" --concurrency 1 --duration 0.2 --warmup 0 >/dev/null
for d in 1 3 6 20; do
  "$BIN/rapport-loadgen" --target 127.0.0.1:50541 --method rapport.profile.v1.ProfileService/RecordInteraction \
    --request "{\"interaction\":{\"id\":\"bench-$d\",\"contact_id\":\"bench-mitch\",\"kind\":\"INTERACTION_KIND_EMAIL_SENT\",\"direction\":\"DIRECTION_OUTBOUND\",\"occurred_at\":\"$(date -u -d "-$d days" +%FT%TZ)\",\"topics\":[\"rep onboarding\"]}}" \
    --concurrency 1 --duration 0.05 --warmup 0 >/dev/null
done

load echo 127.0.0.1:50540 rapport.bench.v1.EchoService/Echo "{\"payload\":\"$(head -c 768 /dev/zero | base64 -w0)\"}"
load GetProfile 127.0.0.1:50541 rapport.profile.v1.ProfileService/GetProfile '{"contact_id":"bench-mitch"}'
load "UpsertContact(unchanged)" 127.0.0.1:50541 rapport.profile.v1.ProfileService/UpsertContact "$MITCH"
load echo-again 127.0.0.1:50540 rapport.bench.v1.EchoService/Echo "{\"payload\":\"$(head -c 768 /dev/zero | base64 -w0)\"}"

# Bulk import over one ImportContacts stream, and Redis memory per contact.
if [[ $IMPORT -gt 0 ]]; then
  $PY - "$IMPORT" >"$WORK/contacts.csv" <<'PYEOF'
import sys
n = int(sys.argv[1])
print("Contact ID,First Name,Last Name,Email,Title,Account Name,Industry,Priorities,Challenges")
for i in range(n):
    print(f"imp-{i:06d},First{i},Last{i},person{i}@example.com,VP Operations,Company {i % 997},Logistics,"
          f"cut onboarding time;reduce churn,rep churn in EMEA")
PYEOF
  before=$(redis-cli -p $REDIS_PORT info memory | awk -F: '/^used_memory:/{print $2}' | tr -d '\r')
  start_ns=$(date +%s%N)
  "$BIN/rapportctl" import-csv "$WORK/contacts.csv" --target 127.0.0.1:50541 >"$WORK/import.out"
  end_ns=$(date +%s%N)
  after=$(redis-cli -p $REDIS_PORT info memory | awk -F: '/^used_memory:/{print $2}' | tr -d '\r')
  echo "import_seconds $(( (end_ns - start_ns) / 1000000 ))e-3" >"$WORK/import.txt"
  echo "memory_per_contact_bytes $(( (after - before) / IMPORT ))" >>"$WORK/import.txt"
  tail -n 3 "$WORK/import.out" >>"$WORK/import.txt"
fi

$PY - "$WORK" <<'PYEOF'
import json, os, sys
work = sys.argv[1]
order = open(os.path.join(work, "order")).read().split()
rows = {l: json.load(open(os.path.join(work, l + ".json"))) for l in order}
echo = rows["echo"]
print(f"machine: {os.cpu_count()} cores; concurrency {echo['concurrency']}, channels {echo['channels']}, "
      f"{echo['duration_s']} s per run")
print()
print("| RPC | QPS | p50 µs | p99 µs | QPS / echo | p99 / echo p99 | errors |")
print("|---|---|---|---|---|---|---|")
for l in order:
    r = rows[l]
    lat = r["latency_us"]
    print(f"| {l} | {r['qps']:.0f} | {lat['p50']:.0f} | {lat['p99']:.0f} | {r['qps'] / echo['qps']:.2f} | "
          f"{lat['p99'] / echo['latency_us']['p99']:.2f} | {r['errors']} |")
imp = os.path.join(work, "import.txt")
if os.path.exists(imp):
    print()
    print(open(imp).read().strip())
PYEOF
