#!/usr/bin/env bash
# Measures requests/s and p50/p99 latency of low-risk `POST /api/sentinel/execute` on
# loopback, with `oha` or `wrk` (Debian: `apt-get install -y wrk`).
#
#   examples/webhook-server/load.sh                 # SQLite store (the default), 10 s, 32 connections
#   STORE=memory DURATION=5s CONNECTIONS=64 examples/webhook-server/load.sh
#
# Every request is a new action (auto-approved PAY_INVOICE of 120 to AWS): decided,
# recorded with its audit events, answered. Builds the release binary first
# (PROFILE=debug to skip that).
set -euo pipefail

cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PORT=${PORT:-18080}
STORE=${STORE:-sqlite}
PROFILE=${PROFILE:-release}

tool=""
if command -v oha >/dev/null; then tool=oha; elif command -v wrk >/dev/null; then tool=wrk; fi
if [ -z "$tool" ]; then
  echo "load.sh needs oha or wrk (Debian: apt-get install -y wrk)" >&2
  exit 1
fi

if [ "$PROFILE" = release ]; then
  cargo build --release -q -p sentinel-server
else
  cargo build -q -p sentinel-server
fi
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target_dir/$PROFILE/sentinel-server"

work=$(mktemp -d)
key="load-test-key-$(date +%s%N)"
case "$STORE" in
  memory) db=memory ;;
  sqlite) db="sqlite://$work/load.db" ;;
  *) db="$STORE" ;;
esac

env -i PATH="$PATH" HOME="$HOME" \
  SENTINEL_BIND="127.0.0.1:$PORT" \
  SENTINEL_AGENT_KEYS="load-bot=$key" \
  SENTINEL_DATABASE_URL="$db" \
  RUST_LOG=warn \
  "$bin" serve >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT

for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null || { cat "$work/server.log"; exit 1; }

url="http://127.0.0.1:$PORT/api/sentinel/execute"
body='{"agent_id":"load-bot","action":"PAY_INVOICE","payload":{"amount":120,"vendor":"AWS"},"reasoning":"monthly hosting bill"}'
# One request by hand first: it must be auto-approved.
curl -fs -H "Authorization: Bearer $key" -H 'content-type: application/json' -d "$body" "$url" | grep -q '"status":"EXECUTED"' \
  || { echo "the probe request was not EXECUTED" >&2; exit 1; }

echo "load: $tool, $DURATION, $CONNECTIONS connections, store $STORE, $PROFILE build, $(nproc) CPUs"
if [ "$tool" = oha ]; then
  oha -z "$DURATION" -c "$CONNECTIONS" --no-tui -m POST -H "Authorization: Bearer $key" \
    -H 'content-type: application/json' -d "$body" "$url" | tee "$work/out.txt"
else
  cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
done = function(summary, latency, requests)
  io.write(string.format("non-2xx or errors: %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$work/post.lua" "$url" | tee "$work/out.txt"
fi
