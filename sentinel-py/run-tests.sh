#!/usr/bin/env bash
# Builds sentinel-guard into sentinel-py/.venv and runs the stub check and the pytest suite.
# Needs only Rust (cargo) and python3 (>= 3.9); works from any directory.
#
# The extension is a dev build made with the cargo selection and environment of
# `cargo test --workspace --all-targets` (../scripts/build-env.sh), so after the Rust tests
# only the binding itself is compiled. For an optimised build (benchmarks) use
# `.venv/bin/maturin develop --release` in this folder.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"
export MYPY_CACHE_DIR="$here/.mypy_cache"
# shellcheck source=../scripts/build-env.sh
. "$here/../scripts/build-env.sh"

if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv"
    "$python" -m venv "$venv"
fi
# Pinned test tools (pip is quiet when they are already there); maturin for release builds.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "maturin==1.16.0" "pytest==9.2.0" "mypy==2.4.1" "cryptography==50.0.2" \
    "prometheus_client==0.26.0" "opentelemetry-proto==1.45.2" \
    "opentelemetry-api==1.45.2"

echo "building sentinel-guard (dev profile, shared with cargo test)"
# `pyo3/extension-module` (as maturin sets it, see pyproject.toml): the module must not link
# libpython. cargo keeps this pyo3 build next to the one `cargo test` links against.
built="$(cd "$here" && cargo build "${SHARED_SELECTION[@]}" --features pyo3/extension-module \
    --message-format json-render-diagnostics |
    "$venv/bin/python" -c '
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "sentinel_py" \
            and "cdylib" in msg["target"]["kind"] and not msg["profile"]["test"]:
        print(next(f for f in msg["filenames"] if f.endswith((".so", ".dylib", ".dll"))))
')"
if [ -z "$built" ]; then
    echo "error: cargo built no sentinel_py library" >&2
    exit 1
fi
# Install it as `maturin develop` would: the module next to the Python sources, found through
# a .pth file. An installed wheel (or an earlier `maturin develop`) would shadow it: remove it.
suffix=".abi3.so"
case "$built" in *.dll) suffix=".pyd" ;; esac
"$venv/bin/python" -m pip uninstall --quiet --yes --disable-pip-version-check sentinel-guard \
    >/dev/null 2>&1 || true
rm -f "$here/python/sentinel_guard/_native"*.so "$here/python/sentinel_guard/_native"*.pyd
cp "$built" "$here/python/sentinel_guard/_native$suffix"
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$here/python" > "$site/sentinel_guard_dev.pth"

echo "checking the type stubs against the built module"
(cd "$here/python" && "$venv/bin/python" -m mypy.stubtest sentinel_guard --mypy-config-file "$here/stubtest.ini" \
    --allowlist "$here/stubtest-allowlist.txt")

echo "type-checking the package and the examples (mypy --strict)"
# The framework integrations need their frameworks' types: tests/integrations/run.sh checks them.
"$venv/bin/python" -m mypy --strict --config-file "$here/mypy.ini" \
    --exclude 'sentinel_guard/integrations/(openai_agents|langchain|crewai)\.py$' \
    --exclude 'examples/python/integrations/' \
    "$here/python/sentinel_guard" "$here/../examples/python"

echo "running pytest"
cd "$here"
# -rs: list skipped tests with their reasons. tests/integrations runs in its own venvs (below).
"$venv/bin/python" -m pytest -q -rs --ignore=tests/integrations tests "$@"

echo "running the framework integration tests (tests/integrations/run.sh)"
"$here/tests/integrations/run.sh"
