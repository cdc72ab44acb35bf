"""N calls of Gateway.evaluate or Gateway.guard (no scorer, in-memory store), the action and
the guarded function as in bench.py, for counting what one call costs independently of the
machine's load (the Python twin of benches/examples/alloc_guard.rs). Two runs with different
N cancel the set-up: the difference of their totals divided by the difference of their N is
the cost per call.

Usage, from this folder with the release build installed (see bench.py):

    valgrind --tool=callgrind .venv/bin/python count_calls.py guard 1000
    valgrind --tool=callgrind .venv/bin/python count_calls.py guard 3000
"""

from __future__ import annotations

import sys

from bench import ACTION, pay_invoice
from sentinel_guard import Gateway


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "guard"
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    gw = Gateway()
    if mode == "guard":
        for _ in range(calls):
            gw.guard(ACTION, pay_invoice, 120, "AWS")
    elif mode == "evaluate":
        for _ in range(calls):
            gw.evaluate(ACTION)
    else:
        raise SystemExit(f"unknown mode `{mode}`: guard or evaluate")


if __name__ == "__main__":
    main()
