#!/usr/bin/env bash
# Runs the Rapport platform on this machine:
#   scripts/run.sh          install, build, start Redis and the three services
#                           in the background, wait until they are SERVING,
#                           import the demo contacts and show one profile
#   scripts/run.sh status   health of each service
#   scripts/run.sh stop     stop the services (graceful drain) and Redis
# State lives under var/: Redis data (AOF on), logs, pid files.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VAR=$ROOT/var
BIN=$ROOT/build/bin
REDIS_PORT=${RAPPORT_REDIS_PORT:-6379}
SERVICES=(profile-service scoring-service feedback-service)
declare -A GRPC=([profile-service]=50051 [scoring-service]=50052 [feedback-service]=50053)
declare -A METRICS=([profile-service]=9101 [scoring-service]=9102 [feedback-service]=9103)

running() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

status() {
  local rc=0
  printf '%-18s %-17s %-22s %s\n' SERVICE GRPC METRICS HEALTH
  for s in "${SERVICES[@]}"; do
    local h
    h=$("$BIN/rapportctl" health --target "127.0.0.1:${GRPC[$s]}" 2>&1 | tail -n1) || rc=1
    printf '%-18s %-17s %-22s %s\n' "$s" "127.0.0.1:${GRPC[$s]}" "http://127.0.0.1:${METRICS[$s]}/metrics" "$h"
  done
  return $rc
}

stop() {
  for s in "${SERVICES[@]}"; do
    if running "$VAR/run/$s.pid"; then
      kill -TERM "$(cat "$VAR/run/$s.pid")"
      echo "stopping $s (draining in-flight calls)"
    fi
  done
  for s in "${SERVICES[@]}"; do
    local pid; pid=$(cat "$VAR/run/$s.pid" 2>/dev/null || true)
    [[ -n $pid ]] && while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    rm -f "$VAR/run/$s.pid"
  done
  if running "$VAR/run/redis.pid"; then
    redis-cli -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || kill -TERM "$(cat "$VAR/run/redis.pid")"
    echo "stopped redis-server"
  fi
  rm -f "$VAR/run/redis.pid"
}

start_redis() {
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    if ! running "$VAR/run/redis.pid"; then
      echo "note: a Redis not started by this script already answers on port $REDIS_PORT; using it"
    fi
    return
  fi
  # AOF with fsync every second: an acknowledged write survives a crash of
  # redis-server with at most one second lost on power failure (see README).
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$VAR/redis" \
    --appendonly yes --appendfsync everysec --save '' \
    --daemonize yes --pidfile "$VAR/run/redis.pid" --logfile "$VAR/log/redis.log"
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "redis-server did not start; see $VAR/log/redis.log" >&2
  exit 1
}

start() {
  bash scripts/deps.sh
  cmake --preset default >/dev/null
  cmake --build --preset default
  mkdir -p "$VAR/redis" "$VAR/log" "$VAR/run"
  start_redis
  for s in "${SERVICES[@]}"; do
    if running "$VAR/run/$s.pid"; then echo "$s already running"; continue; fi
    RAPPORT_REDIS_URL=${RAPPORT_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT} \
      nohup "$BIN/$s" >>"$VAR/log/$s.log" 2>&1 &
    echo $! >"$VAR/run/$s.pid"
  done
  for s in "${SERVICES[@]}"; do
    local ok=0
    for _ in $(seq 100); do
      if "$BIN/rapportctl" health --target "127.0.0.1:${GRPC[$s]}" >/dev/null 2>&1; then ok=1; break; fi
      running "$VAR/run/$s.pid" || break
      sleep 0.2
    done
    if [[ $ok -ne 1 ]]; then
      echo "$s did not become SERVING; last log lines:" >&2
      tail -n 5 "$VAR/log/$s.log" >&2
      exit 1
    fi
  done
  demo
  echo
  status
  echo
  echo "Logs: var/log/   Stop: scripts/run.sh stop"
}

# Demo data: fictional contacts from a Salesforce-style export and their
# interactions, so the profiles have stages, interests and fatigue. Both
# imports are idempotent: running the script again changes nothing.
demo() {
  local ctl=("$BIN/rapportctl" --profile-addr "127.0.0.1:${GRPC[profile-service]}")
  echo
  echo "== importing deploy/demo/contacts.csv"
  "${ctl[@]}" import-csv deploy/demo/contacts.csv | tail -n 3
  echo "== recording deploy/demo/interactions.csv"
  "${ctl[@]}" interaction import-csv deploy/demo/interactions.csv | tail -n 2
  echo
  echo "== what a seller should know before writing to Mitchell Grant"
  "${ctl[@]}" contact get demo-mitch-grant
  local score=("$BIN/rapportctl" --scoring-addr "127.0.0.1:${GRPC[scoring-service]}" score
               --contact demo-mitch-grant --sender-company "Blah Inc" --product Blah)
  echo
  echo "== seed 004's message to him, scored (deploy/demo/drafts/mitch_bob_blah.txt)"
  "${score[@]}" --subject "Quick question" --body-file deploy/demo/drafts/mitch_bob_blah.txt
  echo "== a rewrite about him, scored (deploy/demo/drafts/mitch_caring.txt)"
  "${score[@]}" --subject "Ramp time for the Denver hub" --body-file deploy/demo/drafts/mitch_caring.txt
}

case "${1:-start}" in
  start|up) start ;;
  status) status ;;
  stop|down) stop ;;
  *) echo "usage: scripts/run.sh [start|status|stop]" >&2; exit 2 ;;
esac
