"""Interpreter exit and fork: the module-owned runtime must never crash the process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import asyncio
    import sentinel_guard as sg

    class Scorer:
        async def assess(self, action):
            await asyncio.sleep(0)
            return {"risk_score": 10, "analysis": "fine"}

    class Approver:
        async def request(self, ticket):
            ticket["handle"].resolve(approved=True, by="bot")

    class Broken:  # its exceptions travel inside core errors and stored decisions until exit
        async def assess(self, action):
            raise ConnectionError("scorer down")

        async def request(self, ticket):
            raise ConnectionError("phone down")

    PACK = {"name": "T", "version": "1.0.0", "applies_to": ["TOOL"], "thresholds": {"escalate_above": 50},
            "default": {"risk": 60, "reason": "r"}, "rules": []}
    RISKY = {"agent_id": "session_x", "action": "PAY_INVOICE",
             "payload": {"amount": 10000, "vendor": "Unknown Corp"}, "reasoning": ""}
    TOOL = {"agent_id": "a", "action": "TOOL", "payload": {}, "reasoning": ""}

    async def main():
        plain = sg.Gateway(approver=Approver())
        scored = sg.Gateway.from_config({"packs": [{"inline": PACK}]}, scorer=Scorer())
        broken = sg.Gateway(packs=[PACK], scorer=Broken(), approver=Broken(), escalation_timeout=5)
        results = await asyncio.gather(
            *[plain.aevaluate(RISKY) for _ in range(20)],
            *[scored.aevaluate(TOOL) for _ in range(20)],
            *[plain.aguard(RISKY, lambda: "paid") for _ in range(5)],
        )
        failures = await asyncio.gather(
            *[broken.aevaluate(TOOL) for _ in range(5)],
            *[broken.aguard(TOOL, lambda: "never") for _ in range(5)],
            return_exceptions=True,
        )
        assert len(results) == 45
        assert [type(f.__cause__).__name__ for f in failures] == ["ConnectionError"] * 10, failures
        print("ok")

    asyncio.run(main())
    """
)


def test_short_asyncio_scripts_exit_cleanly_every_time() -> None:
    failures = []
    for run in range(20):
        done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
        if done.returncode != 0 or done.stdout.strip() != "ok":
            failures.append(f"run {run}: exit {done.returncode}: {done.stdout} {done.stderr[-500:]}")
    assert failures == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_gets_its_own_runtime() -> None:
    import sentinel_guard as sg

    gw = sg.Gateway()
    safe = {"agent_id": "a", "action": "PAY_INVOICE", "payload": {"amount": 1, "vendor": "AWS"}, "reasoning": ""}
    assert gw.guard(safe, lambda: 1) == 1  # the parent's runtime is running
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            code = 0 if gw.guard(safe, lambda: 2) == 2 and gw.evaluate(safe).status == "EXECUTED" else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert gw.guard(safe, lambda: 3) == 3
