"""Per-call overhead of Gateway.evaluate and Gateway.guard (no scorer, in-memory store)
against a plain Python call, in one run; each row also as a ratio to `evaluate`.
Usage: python bench.py [calls]

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
    decision = gw.evaluate(ACTION)
    assert decision.status == "EXECUTED"
    assert gw.guard(ACTION, pay_invoice, 120, "AWS") == "paid"

    def evaluate_and_read() -> None:
        d = gw.evaluate(ACTION)
        d.status, d.risk_score, d.rules, d.action_id

    rows = [
        ("plain python call", per_call(lambda: pay_invoice(120, "AWS"), calls)),
        ("dict literal + plain call", per_call(lambda: pay_invoice(**dict(ACTION["payload"])), calls)),
        ("gateway.evaluate", per_call(lambda: gw.evaluate(ACTION), calls)),
        ("evaluate + 4 getters", per_call(evaluate_and_read, calls)),
        ("gateway.guard (auto-approved)", per_call(lambda: gw.guard(ACTION, pay_invoice, 120, "AWS"), calls // 5)),
    ]
    plain = rows[0][1]
    evaluate = rows[2][1]
    guard = rows[4][1]
    print(f"calls per round: {calls} (guard: {calls // 5}), best of 5 rounds")
    print(f"{'what':32} {'us/call':>9} {'x plain':>9} {'x evaluate':>11}")
    for label, us in rows:
        print(f"{label:32} {us:9.3f} {us / plain:9.1f} {us / evaluate:11.2f}")
    print(f"\nevaluate: {evaluate:.2f} us (target <= 1.3 us: {'met' if evaluate <= 1.3 else 'NOT met'})")
    print(f"guard:    {guard:.2f} us (target <= 5 us: {'met' if guard <= 5 else 'NOT met'})")


if __name__ == "__main__":
    main()
