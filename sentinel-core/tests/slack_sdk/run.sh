#!/usr/bin/env bash
# Sentinel's Slack request signing against the official `slack_sdk` (from PyPI): its
# SignatureVerifier accepts every vector of sentinel-core/tests/data/slack_sdk_vectors.jsonl
# (which the Rust test tests/slack_vectors.rs checks Sentinel accepts and reproduces),
# refuses each with a changed body or signature or a stale timestamp, and signing the cases
# again gives the same file. Installs slack_sdk into sentinel-core/tests/slack_sdk/.venv;
# says SKIPPED when PyPI is unreachable.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"
sdk="slack_sdk==3.47.0"
vectors="$here/../data/slack_sdk_vectors.jsonl"

say() { printf 'slack_sdk signatures: %s\n' "$*"; }

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

"$venv/bin/python" "$here/vectors.py" check "$vectors"
again="$(mktemp)"
trap 'rm -f "$again"' EXIT
"$venv/bin/python" "$here/vectors.py" write "$again"
if ! diff -q "$vectors" "$again" >/dev/null; then
    say "failed: slack_sdk signs the cases differently from $vectors"
    diff "$vectors" "$again" >&2 || true
    exit 1
fi
say "ok ($sdk)"
