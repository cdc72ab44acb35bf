# shellcheck shell=bash
# Sourced by scripts/test-all.sh, sentinel-py/run-tests.sh and sentinel-node/run-tests.sh.
#
# One cargo configuration for every build the test command makes, so that the Rust tests, the
# CLI corpus run, the Python extension and the Node addon share one compiled dependency graph
# (dev profile) instead of compiling tokio, sqlx, reqwest, sentinel-core... once per suite:
#
# - The same target: `napi build` always passes `--target <triple>`, and cargo keeps builds
#   for an explicit target (target/<triple>/debug) apart from host builds (target/debug), so
#   every build names the host triple (CARGO_BUILD_TARGET).
# - The same cargo selection (SHARED_SELECTION): cargo turns on a dependency's features
#   according to the packages and targets a build selects, so `cargo build -p sentinel-py`
#   compiles serde, tokio, hyper, regex... with other features than
#   `cargo test --workspace --all-targets` did, and recompiles all of them. The bindings are
#   therefore built with `--workspace --all-targets` too (everything but the binding itself is
#   already compiled by then; a suite run on its own compiles the workspace's tests as well).
# - The same environment: pyo3's build script looks Python up on PATH unless PYO3_PYTHON is set,
#   and reruns (rebuilding pyo3) whenever PATH changes, as it does under `npm run`.
#
# Release builds (the benchmarks) are separate on purpose: `maturin develop --release`,
# `npm run build:release`, `cargo bench`.

SENTINEL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SENTINEL_ROOT

if [ -z "${CARGO_BUILD_TARGET:-}" ]; then
    CARGO_BUILD_TARGET="$(rustc -vV | sed -n 's/^host: //p')"
    export CARGO_BUILD_TARGET
fi

if [ -z "${PYO3_PYTHON:-}" ]; then
    # The interpreter itself, not a shim (pyenv's shims answer according to the directory).
    PYO3_PYTHON="$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)')"
    export PYO3_PYTHON
fi

SHARED_SELECTION=(--workspace --all-targets)

# The test command builds everything once: incremental compilation would only write (GBs of)
# caches nobody reads again. A developer's own setting wins.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# The directory cargo builds into (honours CARGO_TARGET_DIR and .cargo/config.toml).
sentinel_target_dir() {
    cargo metadata --format-version 1 --no-deps --manifest-path "$SENTINEL_ROOT/Cargo.toml" |
        "$PYO3_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# The dev-profile executable `name` of the shared build, e.g. `sentinel`.
sentinel_bin() {
    echo "$(sentinel_target_dir)/$CARGO_BUILD_TARGET/debug/$1"
}
