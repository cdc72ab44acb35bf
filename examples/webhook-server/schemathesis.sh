#!/usr/bin/env bash
# Runs schemathesis against the real sentinel-server: every operation of the OpenAPI
# document it publishes at /openapi.json is called with generated requests (valid and
# invalid), once as an agent and once as the admin, and every answer is checked:
#   not_a_server_error           no 5xx at all
#   response_schema_conformance  every body matches the document
#
#   examples/webhook-server/schemathesis.sh                 # 60 examples per operation
#   EXAMPLES=200 examples/webhook-server/schemathesis.sh
#   SENTINEL_SERVER_BIN=target/debug/sentinel-server examples/webhook-server/schemathesis.sh
#
# Installs schemathesis into examples/webhook-server/.venv (gitignored; SCHEMATHESIS_VENV
# names another) on first use.
# Exits 0 with "skipped" only when PyPI cannot be reached to install it; any failure of
# the run itself exits non-zero. The event stream (/api/sentinel/events) is left out: it
# never ends by design.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
EXAMPLES=${EXAMPLES:-60}
SEED=${SEED:-20240611}
venv=${SCHEMATHESIS_VENV:-$here/.venv}
python=${PYTHON:-python3}

say() { printf 'schemathesis.sh: %s\n' "$*"; }

if [ ! -x "$venv/bin/schemathesis" ]; then
  say "installing schemathesis into $venv"
  "$python" -m venv "$venv"
  if ! "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis>=4,<5" 2>"$venv/pip.log"; then
    index=${PIP_INDEX_URL:-https://pypi.org/simple/}
    if ! "$venv/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=15)' "$index" 2>/dev/null; then
      say "skipped: PyPI is unreachable ($index)"
      exit 0
    fi
    cat "$venv/pip.log" >&2
    say "failed: cannot install schemathesis"
    exit 1
  fi
fi
say "$("$venv/bin/schemathesis" --version)"

cd "$root"
# SENTINEL_SERVER_BIN: a binary built already (scripts/test-all.sh passes the shared
# build's); otherwise the debug binary is built here.
bin=${SENTINEL_SERVER_BIN:-}
if [ -z "$bin" ]; then
  cargo build -q -p sentinel-server
  target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
  bin="$target_dir/debug/sentinel-server"
fi
if [ ! -x "$bin" ]; then
  say "failed: no sentinel-server binary at $bin"
  exit 1
fi

work=$(mktemp -d)
agent_key="schemathesis-agent-$(date +%s%N)"
admin_token="schemathesis-admin-$(date +%s%N)"
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Port 0: the server picks a free port and says it in its banner. Long-polls are capped at
# 1 s so that generated `timeout_s` values cannot stall the run.
env -i PATH="$PATH" HOME="${HOME:-/root}" \
  SENTINEL_BIND="127.0.0.1:0" \
  SENTINEL_AGENT_KEYS="billing-*=$agent_key" \
  SENTINEL_ADMIN_TOKEN="$admin_token" \
  SENTINEL_DATABASE_URL="sqlite://$work/schemathesis.db" \
  SENTINEL_MAX_WAIT_S=1 \
  RUST_LOG=warn,sentinel_server=info \
  "$bin" serve >"$work/server.log" 2>&1 &
server=$!

base=""
for _ in $(seq 1 100); do
  base=$(sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' "$work/server.log" | head -n 1)
  if [ -n "$base" ] && curl -fsS "$base/healthz" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "$server" 2>/dev/null; then
    cat "$work/server.log" >&2
    say "failed: the server did not start"
    exit 1
  fi
  sleep 0.1
done
if [ -z "$base" ]; then
  cat "$work/server.log" >&2
  say "failed: no address in the server's banner"
  exit 1
fi
say "server at $base (log: $work/server.log)"

status=0
for who in agent admin; do
  if [ "$who" = agent ]; then token="$agent_key"; else token="$admin_token"; fi
  say "as the $who: $EXAMPLES examples per operation"
  if ! "$venv/bin/schemathesis" run "$base/openapi.json" \
      --checks not_a_server_error,response_schema_conformance \
      --max-examples "$EXAMPLES" \
      --seed "$SEED" \
      --exclude-path /api/sentinel/events \
      --header "Authorization: Bearer $token" \
      --request-timeout 10 \
      --workers 2 \
      --no-color \
      --suppress-health-check all; then
    status=1
  fi
done

if [ "$status" -ne 0 ]; then
  say "server log (last 40 lines):"
  tail -n 40 "$work/server.log" >&2
  say "failed"
  exit 1
fi
say "passed: 0 server errors, 0 responses that break the document"
