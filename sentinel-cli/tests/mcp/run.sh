#!/usr/bin/env bash
# `sentinel mcp-proxy` against the official MCP SDKs: the Python SDK's client (`mcp` from
# PyPI) talks to a FastMCP server through the proxy (test_proxy.py), then the TypeScript
# SDK's client (@modelcontextprotocol/sdk from npm) does once (ts_client.mjs). Installs them
# into sentinel-cli/tests/mcp/.venv and sentinel-cli/tests/mcp/node_modules; says SKIPPED
# when PyPI or the npm registry is unreachable.
#
# Usage: run.sh SENTINEL_BIN SENTINEL_SERVER_BIN (the dev-profile binaries the test command
# built; scripts/test-all.sh passes them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"
# The SDK's last 1.x release: FastMCP lives at mcp.server.fastmcp (mcp 2 renamed it).
sdk="mcp==1.30.0"
ts_sdk="@modelcontextprotocol/sdk@1.32.2"

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

if ! command -v npm >/dev/null 2>&1; then
    say "SKIPPED the TypeScript SDK client: npm is not installed"
    exit 0
fi
if [ ! -f "$here/node_modules/@modelcontextprotocol/sdk/package.json" ] ||
    [ "$(node -p 'require(process.argv[1]).version' "$here/node_modules/@modelcontextprotocol/sdk/package.json")" != "${ts_sdk##*@}" ]; then
    if ! (cd "$here" && npm install --no-save --no-audit --no-fund --silent --prefix "$here" "$ts_sdk") 2>"$venv/npm.log"; then
        registry="$(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)"
        if ! "$venv/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=15)' "$registry" 2>/dev/null; then
            say "SKIPPED the TypeScript SDK client: the npm registry is unreachable ($registry)"
            exit 0
        fi
        cat "$venv/npm.log" >&2
        say "failed: cannot install $ts_sdk"
        exit 1
    fi
fi
node "$here/ts_client.mjs" "$1" "$venv/bin/python"
