#!/usr/bin/env bash
# The framework integrations (sentinel_guard.integrations.*) against the real frameworks,
# installed from PyPI at pinned versions into venvs of their own (their dependencies
# conflict with each other and with sentinel-py/.venv's pins): .venv-agents holds the
# OpenAI Agents SDK and LangChain, .venv-crewai CrewAI. Each venv finds the package and the
# extension that ../../run-tests.sh built through a .pth file, type-checks the integration
# modules and their examples (mypy --strict, with the framework's own types) and runs the
# tests. Says SKIPPED when PyPI is unreachable.
#
# Usage: run.sh [pytest args...] (after ../../run-tests.sh built the extension; it calls this).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pkg="$(cd "$here/../.." && pwd)"
examples="$(cd "$pkg/../examples/python/integrations" && pwd)"
python="${PYTHON:-python3}"
tools=("pytest==9.2.0" "mypy==2.4.1")
agents_pins=("openai-agents==0.24.0" "langchain==1.5.2" "langchain-core==1.8.3")
crewai_pins=("crewai==1.15.30")
export MYPY_CACHE_DIR="$here/.mypy_cache"
export CREWAI_DISABLE_TELEMETRY=true CREWAI_TRACING_ENABLED=false OTEL_SDK_DISABLED=true

say() { printf 'python integration tests: %s\n' "$*"; }

if ! ls "$pkg/python/sentinel_guard/"_native*.so >/dev/null 2>&1 &&
    ! ls "$pkg/python/sentinel_guard/"_native*.pyd >/dev/null 2>&1; then
    echo "error: the extension is not built: run sentinel-py/run-tests.sh first" >&2
    exit 2
fi

# venv NAME PINS...: creates $here/.venv-NAME with the pins and the .pth to the package.
venv() {
    local name="$1" dir="$here/.venv-$1"
    shift
    [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
    local start=$SECONDS
    if ! "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@" "${tools[@]}" 2>"$dir/pip.log"; then
        local index=${PIP_INDEX_URL:-https://pypi.org/simple/}
        if ! "$dir/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=15)' "$index" 2>/dev/null; then
            say "SKIPPED: PyPI is unreachable ($index), cannot install $*"
            exit 0
        fi
        cat "$dir/pip.log" >&2
        say "failed: cannot install $*"
        exit 1
    fi
    say "$name: $* installed or up to date in $((SECONDS - start)) s"
    local site
    site="$("$dir/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    echo "$pkg/python" >"$site/sentinel_guard_dev.pth"
}

venv agents "${agents_pins[@]}"
venv crewai "${crewai_pins[@]}"

integrations="$pkg/python/sentinel_guard/integrations"
cd "$here"
say "mypy --strict: openai_agents, langchain and their examples (with the frameworks' types)"
"$here/.venv-agents/bin/python" -m mypy --strict --config-file "$pkg/mypy.ini" \
    "$integrations/openai_agents.py" "$integrations/langchain.py" \
    "$examples/openai_agents_agent.py" "$examples/langchain_agent.py"
say "mypy --strict: crewai and its example"
"$here/.venv-crewai/bin/python" -m mypy --strict --config-file "$pkg/mypy.ini" \
    "$integrations/crewai.py" "$examples/crewai_crew.py"

say "openai-agents and langchain"
"$here/.venv-agents/bin/python" -m pytest -q -rs -p no:cacheprovider \
    test_openai_agents.py test_langchain.py test_examples.py -k "not crewai" "$@"
say "crewai"
"$here/.venv-crewai/bin/python" -m pytest -q -rs -p no:cacheprovider \
    --disable-warnings test_crewai.py test_examples.py -k "crewai" "$@"
