#!/usr/bin/env bash
# Builds sentinel-guard into sentinel-py/.venv and runs the stub check and the pytest suite.
# Needs only Rust (cargo) and python3 (>= 3.9); works from any directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"
export MYPY_CACHE_DIR="$here/.mypy_cache"

if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv"
    "$python" -m venv "$venv"
fi
# Pinned test tools (pip is quiet when they are already there).
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "maturin==1.16.0" "pytest==9.2.0" "mypy==2.4.1" "cryptography==50.0.2"

echo "building sentinel-guard (release)"
(cd "$here" && VIRTUAL_ENV="$venv" "$venv/bin/maturin" develop --release --quiet)

echo "checking the type stubs against the built module"
(cd "$here/python" && "$venv/bin/python" -m mypy.stubtest sentinel_guard --mypy-config-file "$here/mypy.ini")

echo "type-checking the package and the examples (mypy --strict)"
"$venv/bin/python" -m mypy --strict --config-file "$here/mypy.ini" "$here/python/sentinel_guard" "$here/../examples/python"

echo "running pytest"
cd "$here"
"$venv/bin/python" -m pytest -q tests "$@"
