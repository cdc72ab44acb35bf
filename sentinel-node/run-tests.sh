#!/usr/bin/env bash
# Builds sentinel-guard (the Node binding) from source and runs its node:test suite.
# Needs Rust (cargo), Node.js >= 20 and npm; the only network used is the npm registry
# and crates.io. Works from any directory; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

echo "== sentinel-node: npm ci (builds the addon and the TypeScript layer)"
# `npm ci` installs the pinned devDependencies from package-lock.json, then runs the
# `prepare` script: `napi build --platform --release` and `tsc`.
npm ci --no-audit --no-fund

echo "== sentinel-node: node:test"
node --test test/*.test.mjs test/*.test.cjs
