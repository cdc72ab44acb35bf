#!/usr/bin/env bash
# Runs every test of the project: Rust (unit, integration, property, doc tests, benches in
# test mode), the shared decision corpus through the CLI, then the Python and Node suites.
# Installs what it needs (maturin, pytest, npm packages) into the project's own folders.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> Rust: cargo test --workspace --all-targets"
cargo test --workspace --all-targets
echo "==> Rust: doc tests"
cargo test --workspace --doc

echo "==> CLI: sentinel test fixtures/decisions.jsonl"
cargo run --quiet -p sentinel-cli -- test fixtures/decisions.jsonl > target/corpus-cli.log || { cat target/corpus-cli.log; exit 1; }
tail -n 1 target/corpus-cli.log

for suite in sentinel-py sentinel-node; do
  if [ -x "$suite/run-tests.sh" ]; then
    echo "==> $suite"
    "$suite/run-tests.sh"
  fi
done
echo "==> all test suites passed"
