"""Per-call overhead of Gateway.evaluate and Gateway.guard (no scorer) against a plain
Python call, in one run.  Usage: python bench.py [calls]

Measure a release build: the test command (run-tests.sh) installs a dev build. From this
folder, after run-tests.sh has made .venv (or `python3 -m venv .venv` and
`.venv/bin/pip install maturin==1.16.0`):

    VIRTUAL_ENV=.venv .venv/bin/maturin develop --release
    .venv/bin/python bench.py

The next run-tests.sh puts the dev build back."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable

from sentinel_guard import Gateway

ACTION = {
    "agent_id": "billing-bot",
    "action": "PAY_INVOICE",
    "payload": {"amount": 120, "vendor": "AWS"},
    "reasoning": "monthly cloud bill",
}


def pay_invoice(amount: int, vendor: str) -> str:
    return "paid"


def per_call(fn: Callable[[], Any], calls: int, rounds: int = 5) -> float:
    """Best of `rounds`, in microseconds per call."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls * 1e6)
    return best


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    gw = Gateway()
    assert gw.evaluate(ACTION).status == "EXECUTED"
    plain = per_call(lambda: pay_invoice(120, "AWS"), calls)
    evaluate = per_call(lambda: gw.evaluate(ACTION), calls)
    guard = per_call(lambda: gw.guard(ACTION, pay_invoice, 120, "AWS"), calls // 5)
    print(f"calls per round: {calls} (guard: {calls // 5}), best of 5 rounds")
    print(f"plain python call : {plain:8.3f} us")
    print(f"gateway.evaluate  : {evaluate:8.3f} us  ({evaluate / plain:6.1f}x plain)   target <= 3 us: {'ok' if evaluate <= 3 else 'MISSED'}")
    print(f"gateway.guard     : {guard:8.3f} us  ({guard / plain:6.1f}x plain)")


if __name__ == "__main__":
    main()
