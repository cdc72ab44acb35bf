#!/usr/bin/env bash
# `sentinel mcp-proxy` against the official MCP Python SDK (`mcp` from PyPI): its client
# talks to a FastMCP server through the proxy (test_proxy.py). Installs the SDK into
# sentinel-cli/tests/mcp/.venv; says SKIPPED when PyPI is unreachable.
#
# Usage: run.sh SENTINEL_BIN SENTINEL_SERVER_BIN (the dev-profile binaries the test command
# built; scripts/test-all.sh passes them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"
# The SDK's last 1.x release: FastMCP lives at mcp.server.fastmcp (mcp 2 renamed it).
sdk="mcp==1.30.0"

say() { printf 'mcp proxy tests: %s\n' "$*"; }

if [ $# -ne 2 ] || [ ! -x "$1" ] || [ ! -x "$2" ]; then
    echo "usage: $0 SENTINEL_BIN SENTINEL_SERVER_BIN (both executable)" >&2
    exit 2
fi

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$sdk" 2>"$venv/pip.log"; then
    index=${PIP_INDEX_URL:-https://pypi.org/simple/}
    if ! "$venv/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=15)' "$index" 2>/dev/null; then
        say "SKIPPED: PyPI is unreachable ($index), cannot install $sdk"
        exit 0
    fi
    cat "$venv/pip.log" >&2
    say "failed: cannot install $sdk"
    exit 1
fi

SENTINEL_BIN="$1" SENTINEL_SERVER_BIN="$2" "$venv/bin/python" "$here/test_proxy.py"
