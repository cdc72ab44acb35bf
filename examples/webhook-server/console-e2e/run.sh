#!/usr/bin/env bash
# Browser end-to-end tests of sentinel-server's console: the real binary
# (`sentinel-server demo --keep-running` for console.test.mjs; a [[routes]] configuration
# with docs/examples/webhook_receiver.py as its webhook, run with python3, for
# ladder.test.mjs), Debian's chromium, playwright-core from npm.
#
#   examples/webhook-server/console-e2e/run.sh
#   SENTINEL_SERVER_BIN=path/to/sentinel-server CHROMIUM=/usr/bin/chromium ...run.sh
#
# Installs what it needs: chromium with apt-get when it is missing and this runs as root,
# playwright-core into this folder's node_modules (no browser download). Says SKIPPED and
# exits 0 only when chromium is absent and cannot be installed, or npm's registry cannot
# be reached; any failure of the tests exits non-zero. Screenshots go to
# target/console-e2e/ (ARTEFACTS names another folder).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
say() { printf 'console-e2e: %s\n' "$*"; }

# shellcheck source=../../../scripts/build-env.sh
. "$root/scripts/build-env.sh"
target="$(sentinel_target_dir)"
mkdir -p "$target"
bin="${SENTINEL_SERVER_BIN:-$(sentinel_bin sentinel-server)}"
if [ ! -x "$bin" ]; then
  say "building sentinel-server"
  cargo build --quiet -p sentinel-server --bin sentinel-server
fi

chromium="${CHROMIUM:-$(command -v chromium || true)}"
if [ -z "$chromium" ] && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  say "installing Debian's chromium"
  if ! apt-get install -y -qq chromium > "$target/console-e2e-apt.log" 2>&1; then
    apt-get update -qq >> "$target/console-e2e-apt.log" 2>&1 || true
    apt-get install -y -qq chromium >> "$target/console-e2e-apt.log" 2>&1 || true
  fi
  chromium="$(command -v chromium || true)"
fi
if [ -z "$chromium" ]; then
  say "SKIPPED: the browser tests need Debian's chromium, which is not installed and could not be installed (not root, or apt-get failed: see $target/console-e2e-apt.log)"
  exit 0
fi

if [ ! -d "$here/node_modules/playwright-core" ]; then
  say "installing playwright-core into $here/node_modules"
  if ! (cd "$here" && npm ci --no-audit --no-fund --loglevel=error > "$target/console-e2e-npm.log" 2>&1); then
    if ! (cd "$here" && timeout 20 npm ping > /dev/null 2>&1); then
      say "SKIPPED: npm's registry cannot be reached to install playwright-core"
      exit 0
    fi
    cat "$target/console-e2e-npm.log" >&2
    say "failed: cannot install playwright-core"
    exit 1
  fi
fi

export SENTINEL_SERVER_BIN="$bin" CHROMIUM="$chromium" ARTEFACTS="${ARTEFACTS:-$target/console-e2e}"
say "$("$chromium" --version 2>/dev/null || echo chromium), server $bin"
timeout 300 node --test --test-concurrency=1 --test-reporter=spec "$here/console.test.mjs" "$here/ladder.test.mjs"
