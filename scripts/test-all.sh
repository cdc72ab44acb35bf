#!/usr/bin/env bash
# Runs every test of the project: Rust (unit, integration, property, doc tests, benches in
# test mode), sentinel-core's features one at a time, the shared decision corpus through the
# CLI, the console in a real browser, then the Node and Python suites. Installs what it needs
# (maturin, pytest and npm packages, playwright-core) into the project's own folders, and
# Debian's chromium with apt-get when run as root.
#
# Everything is built once, in the dev profile, for one explicit target and one cargo
# selection (see scripts/build-env.sh): the CLI run and both bindings reuse what
# `cargo test --workspace --all-targets` compiled.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/build-env.sh
. scripts/build-env.sh

echo "==> Rust: cargo test --workspace --all-targets"
cargo test --workspace --all-targets
echo "==> Rust: doc tests"
cargo test --workspace --doc

echo "==> Rust: sentinel-core with no default features, then each feature alone"
cargo check -p sentinel-core --no-default-features
# Features the crate does not declare (yet) are reported, not checked.
features="$(cargo metadata --format-version 1 --no-deps |
    "$PYO3_PYTHON" -c 'import json, sys
print(" ".join(next(p for p in json.load(sys.stdin)["packages"] if p["name"] == "sentinel-core")["features"]))')"
for feature in groq telnyx sqlite postgres otel slack; do
    if [[ " $features " == *" $feature "* ]]; then
        echo "    cargo check -p sentinel-core --no-default-features --features $feature"
        cargo check --quiet -p sentinel-core --no-default-features --features "$feature"
    else
        echo "    SKIPPED feature \`$feature\`: sentinel-core declares no such feature (it has: ${features:-none})"
    fi
done

echo "==> sentinel-server: schemathesis against /openapi.json"
SENTINEL_SERVER_BIN="$(sentinel_bin sentinel-server)" examples/webhook-server/schemathesis.sh

echo "==> sentinel-server: the console in a real browser (Debian's chromium, playwright-core)"
SENTINEL_SERVER_BIN="$(sentinel_bin sentinel-server)" examples/webhook-server/console-e2e/run.sh

echo "==> CLI: sentinel test fixtures/decisions.jsonl"
# The binary `cargo test` built (`cargo run -p sentinel-cli` would resolve features for that
# package alone and rebuild its dependencies).
sentinel="$(sentinel_bin sentinel)"
log="$(sentinel_target_dir)/corpus-cli.log"
"$sentinel" test fixtures/decisions.jsonl > "$log" || { cat "$log"; exit 1; }
tail -n 1 "$log"

for suite in sentinel-node sentinel-py; do
  if [ -x "$suite/run-tests.sh" ]; then
    echo "==> $suite"
    "$suite/run-tests.sh"
  fi
done
echo "==> cross-host: the shared corpus through the CLI, the server, Python and Node, from fixtures/sentinel.toml"
sentinel-py/.venv/bin/python scripts/cross_host_corpus.py "$(sentinel_bin sentinel)" "$(sentinel_bin sentinel-server)"
echo "==> Slack signatures: the official slack_sdk's SignatureVerifier on the vectors tests/slack_vectors.rs checks Sentinel with"
sentinel-core/tests/slack_sdk/run.sh
echo "==> MCP proxy: the official MCP Python SDK's client and a FastMCP server through sentinel mcp-proxy"
sentinel-cli/tests/mcp/run.sh "$(sentinel_bin sentinel)" "$(sentinel_bin sentinel-server)"
echo "==> all test suites passed"
