"""guard / aguard / guarded, resolve across threads, timeouts and the GIL."""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import time
from typing import Any, List

import pytest

from conftest import FORBIDDEN, RISKY, SAFE
import sentinel_guard as sg


def pending_ids(gw: sg.Gateway, seen: List[str], timeout: float = 5.0) -> str:
    """Waits until the approver spy saw an escalated action and returns its id."""
    deadline = time.monotonic() + timeout
    while not seen:
        assert time.monotonic() < deadline, "no escalation seen"
        time.sleep(0.005)
    return seen[0]


class Spy:
    """An approver that only remembers which actions were escalated."""

    def __init__(self) -> None:
        self.ids: List[str] = []

    def request(self, ticket: dict) -> None:
        self.ids.append(ticket["action_id"])


def test_guard_runs_an_auto_approved_function(gw: sg.Gateway) -> None:
    assert gw.guard(SAFE, lambda a, b=0: a + b, 40, b=2) == 42


def test_guard_never_runs_a_declined_function(gw: sg.Gateway) -> None:
    ran = []
    with pytest.raises(sg.Denied) as info:
        gw.guard(FORBIDDEN, ran.append, 1)
    assert ran == []
    assert info.value.decision.status == "DECLINED"
    assert info.value.decision.rules == ["OpsGuard/drop-table-forbidden"]
    assert gw.status(info.value.action_id)["state"] == "DECLINED"


def test_function_exceptions_propagate_unchanged(gw: sg.Gateway) -> None:
    def boom() -> None:
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        gw.guard(SAFE, boom)


def test_guard_refuses_async_functions(gw: sg.Gateway) -> None:
    async def pay() -> None: ...

    with pytest.raises(TypeError, match="aguard"):
        gw.guard(SAFE, pay)


class Payer:
    async def apay(self) -> None: ...

    def pay(self) -> str:
        return "paid"


def sync_pay() -> str:
    return "paid"


async def async_pay() -> None: ...


def callables() -> list:
    """Callables of every kind `guard` may be given, with what `inspect` says of each."""
    found = [
        sync_pay,
        async_pay,
        Payer().pay,
        Payer().apay,
        functools.partial(async_pay),
        functools.partial(sync_pay),
        lambda: "paid",
        Payer,
        time.time,
    ]
    mark = getattr(inspect, "markcoroutinefunction", None)  # Python 3.12+
    if mark is not None:

        def marked() -> str:
            return "paid"

        found.append(mark(marked))
    return found


@pytest.mark.parametrize("func", callables(), ids=repr)
def test_guard_tells_async_functions_as_inspect_does(gw: sg.Gateway, func: Any) -> None:
    """`guard` answers plain functions itself (from their code's flags) and asks `inspect`
    about the rest; either way it refuses exactly what `inspect` calls a coroutine function."""
    if inspect.iscoroutinefunction(func):
        with pytest.raises(TypeError, match="aguard"):
            gw.guard(SAFE, func)
    else:
        gw.guard(SAFE, func)


def test_resolve_from_another_thread_approves(gw: sg.Gateway) -> None:
    spy = Spy()
    gw = sg.Gateway(approver=spy, escalation_timeout=10)

    def human() -> None:
        record = gw.resolve(pending_ids(gw, spy.ids), approved=True, by="alice", channel="web", reason="verified vendor")
        assert record["state"] == "APPROVED"

    t = threading.Thread(target=human)
    t.start()
    assert gw.guard(RISKY, lambda: "paid") == "paid"
    t.join()
    record = gw.status(spy.ids[0])
    assert record["state"] == "APPROVED" and record["executed_at"] is not None
    assert record["approval"]["by"] == "alice" and record["approval"]["reason"] == "verified vendor"
    with pytest.raises(sg.ConflictError, match="already APPROVED"):
        gw.resolve(spy.ids[0], approved=False, by="bob")


def test_resolve_from_another_thread_declines(gw: sg.Gateway) -> None:
    spy = Spy()
    gw = sg.Gateway(approver=spy, escalation_timeout=10)
    t = threading.Thread(target=lambda: gw.resolve(pending_ids(gw, spy.ids), approved=False, by="bob", reason="not ours"))
    t.start()
    with pytest.raises(sg.Denied) as info:
        gw.guard(RISKY, lambda: pytest.fail("must not run"))
    t.join()
    assert "Declined by bob" in info.value.decision.analysis and "not ours" in info.value.decision.analysis


def test_nobody_answers_so_it_times_out() -> None:
    gw = sg.Gateway(escalation_timeout=0.2)
    start = time.monotonic()
    with pytest.raises(sg.ApprovalTimeout) as info:
        gw.guard(RISKY, lambda: pytest.fail("must not run"))
    assert 0.15 < time.monotonic() - start < 3
    assert isinstance(info.value, TimeoutError)
    assert gw.status(info.value.action_id)["state"] == "EXPIRED"


def test_idempotency_key_runs_once(gw: sg.Gateway) -> None:
    runs = []
    keyed = dict(SAFE, idempotency_key="invoice-77")
    gw.guard(keyed, runs.append, 1)
    with pytest.raises(sg.AlreadyExecuted):
        gw.guard(keyed, runs.append, 2)
    assert runs == [1]


def test_guard_releases_the_gil_while_waiting() -> None:
    spy = Spy()
    gw = sg.Gateway(approver=spy, escalation_timeout=10)
    ticks = []
    stop = threading.Event()

    def counter() -> None:  # pure Python: only progresses when the GIL is free
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    def human() -> None:
        pending_ids(gw, spy.ids)
        before = len(ticks)
        time.sleep(0.3)  # the guard is blocked meanwhile
        assert len(ticks) - before > 20
        gw.resolve(spy.ids[0], approved=True, by="alice")

    threads = [threading.Thread(target=counter), threading.Thread(target=human)]
    for t in threads:
        t.start()
    try:
        assert gw.guard(RISKY, lambda: "paid") == "paid"
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert len(ticks) > 20


def test_many_threads_share_one_gateway(gw: sg.Gateway) -> None:
    results: List[Any] = []

    def worker() -> None:
        for _ in range(200):
            results.append(gw.guard(SAFE, lambda: 1))
            assert gw.evaluate(RISKY).risk_score == 95

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [1] * 1600


def test_aguard_sync_and_async_functions(gw: sg.Gateway) -> None:
    async def pay(amount: int) -> str:
        await asyncio.sleep(0)
        return f"paid {amount}"

    async def main() -> list:
        return [await gw.aguard(SAFE, pay, 120), await gw.aguard(SAFE, lambda: "sync")]

    assert asyncio.run(main()) == ["paid 120", "sync"]


def test_aguard_does_not_block_the_loop() -> None:
    spy = Spy()
    gw = sg.Gateway(approver=spy, escalation_timeout=10)

    async def main() -> tuple:
        ticks = 0
        guarded = asyncio.ensure_future(gw.aguard(RISKY, lambda: "paid"))
        while not spy.ids:  # the loop keeps running while the guard waits
            ticks += 1
            await asyncio.sleep(0.001)
        for _ in range(20):
            await asyncio.sleep(0.001)
            ticks += 1
        assert not guarded.done()
        gw.resolve(spy.ids[0], approved=True, by="alice")
        return await guarded, ticks

    result, ticks = asyncio.run(main())
    assert result == "paid" and ticks > 20


def test_aguard_denied_and_timeout() -> None:
    gw = sg.Gateway(escalation_timeout=0.2)

    async def main() -> None:
        with pytest.raises(sg.Denied):
            await gw.aguard(FORBIDDEN, lambda: pytest.fail("must not run"))
        with pytest.raises(sg.ApprovalTimeout):
            await gw.aguard(RISKY, lambda: pytest.fail("must not run"))

    asyncio.run(main())


def test_cancelling_aguard_cancels_the_wait() -> None:
    gw = sg.Gateway(escalation_timeout=30)

    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(gw.aguard(RISKY, lambda: pytest.fail("must not run")), 0.1)

    asyncio.run(main())


def test_guarded_builds_the_payload_from_arguments() -> None:
    spy: List[dict] = []

    class Approver:
        def request(self, ticket: dict) -> None:
            spy.append(ticket)
            ticket["handle"].resolve(approved=True, by="test")

    gw = sg.Gateway(approver=Approver())

    @gw.guarded("PAY_INVOICE", agent_id="session_x", reasoning="invoice overdue")
    def pay_invoice(amount: float, vendor: str, memo: str = "", **extra: Any) -> str:
        """Pays an invoice."""
        return f"paid {amount} to {vendor}"

    assert pay_invoice.__name__ == "pay_invoice" and pay_invoice.__doc__ == "Pays an invoice."
    assert pay_invoice(120, vendor="AWS") == "paid 120 to AWS"  # auto-approved: no ticket
    assert spy == []
    assert pay_invoice(10000, "Unknown Corp", ref="INV-1") == "paid 10000 to Unknown Corp"
    assert spy[0]["action"] == {
        "agent_id": "session_x",
        "action": "PAY_INVOICE",
        "payload": {"amount": 10000, "vendor": "Unknown Corp", "memo": "", "ref": "INV-1"},
        "reasoning": "invoice overdue",
    }
    assert spy[0]["decision"]["rules"] == ["VaultKeeper/unknown-vendor-large-payment", "VaultKeeper/untrusted-vendor-over-1000"]
    with pytest.raises(TypeError):
        pay_invoice()  # type: ignore[call-arg]


def test_guarded_methods_and_async_functions(gw: sg.Gateway) -> None:
    class Ops:
        @gw.guarded("DROP_TABLE", agent_id="ops-bot")
        def drop(self, table: str) -> None:
            pytest.fail("must not run")

    with pytest.raises(sg.Denied):
        Ops().drop("users")

    @gw.guarded("PAY_INVOICE", agent_id="billing-bot")
    async def pay(amount: int, vendor: str) -> str:
        return "paid"

    assert inspect.iscoroutinefunction(pay)
    assert asyncio.run(pay(120, "AWS")) == "paid"
