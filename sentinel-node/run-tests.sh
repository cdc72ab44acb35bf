#!/usr/bin/env bash
# Builds sentinel-guard (the Node binding) from source and runs its node:test suite.
# Needs Rust (cargo), Node.js >= 20 and npm; the only network used is the npm registry
# and crates.io. Works from any directory; exits non-zero on any failure.
#
# The addon is a dev build made with the cargo selection and environment of
# `cargo test --workspace --all-targets` (../scripts/build-env.sh), so after the Rust tests
# only the binding itself is compiled. For an optimised build (benchmarks) use
# `npm run build:release` in this folder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=../scripts/build-env.sh
. ../scripts/build-env.sh

echo "== sentinel-node: npm ci"
# The pinned devDependencies from package-lock.json. `--ignore-scripts` skips `prepare`
# (a build of this package alone); the build below shares the workspace's.
npm ci --no-audit --no-fund --ignore-scripts

echo "== sentinel-node: build the addon (dev profile, shared with cargo test) and the TypeScript layer"
npm run --silent build:native:shared
npm run --silent build:ts

echo "== sentinel-node: node:test"
node --test test/*.test.mjs test/*.test.cjs
