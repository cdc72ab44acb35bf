"""Custom scorers and approvers written in Python (def and async def)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, List

import pytest

from conftest import RISKY, SAFE, SCORED_PACK, action
import sentinel_guard as sg

TOOL_LOW = action("TOOL", tool="search")
TOOL_HIGH = action("TOOL", tool="wire-money")


class SyncScorer:
    name = "sync-scorer"

    def __init__(self) -> None:
        self.calls: List[dict] = []

    def assess(self, action: dict) -> dict:
        self.calls.append(action)
        risky = action["payload"]["tool"] == "wire-money"
        return {"risk_score": 90 if risky else 10, "analysis": f"scored {action['payload']['tool']}"}


class AsyncScorer:
    def __init__(self) -> None:
        self.threads: List[int] = []

    async def assess(self, action: dict) -> dict:
        self.threads.append(threading.get_ident())
        await asyncio.sleep(0.01)
        return {"risk_score": 90 if action["payload"]["tool"] == "wire-money" else 10, "analysis": "async scored"}

    async def explain(self, action: dict, assessment: dict, question: str) -> str:
        return f"{action['action']} is {assessment['risk_score']}: you asked {question!r}"


def test_sync_scorer_decides_within_policy() -> None:
    scorer = SyncScorer()
    gw = sg.Gateway(packs=[SCORED_PACK], scorer=scorer)
    assert gw.scorer == "sync-scorer"
    low, high = gw.evaluate(TOOL_LOW), gw.evaluate(TOOL_HIGH)
    assert (low.status, low.risk_score, high.status, high.risk_score) == ("EXECUTED", 10, "BLOCKED_AWAITING_AUTH", 90)
    assert low.analysis.startswith("scored search")
    assert low.to_dict()["scorer"] == {"outcome": "assessed", "scorer": "sync-scorer"}
    assert scorer.calls[0] == TOOL_LOW


def test_scorer_cannot_undo_a_pack_decision() -> None:
    class Lenient:
        def assess(self, action: dict) -> dict:
            return {"risk_score": 0, "analysis": "all fine"}

    gw = sg.Gateway(scorer=Lenient())
    assert gw.evaluate(RISKY).status == "BLOCKED_AWAITING_AUTH"  # set_risk rule: scorer skipped
    assert gw.evaluate(action("DROP_TABLE", table="users")).status == "DECLINED"


def test_async_scorer_from_sync_and_async_calls() -> None:
    scorer = AsyncScorer()
    gw = sg.Gateway(packs=[SCORED_PACK], scorer=scorer)
    assert gw.evaluate(TOOL_LOW).status == "EXECUTED"  # sync call: a private loop

    async def main() -> list:
        loop_thread = threading.get_ident()
        got = await asyncio.gather(gw.aevaluate(TOOL_LOW), gw.aevaluate(TOOL_HIGH))
        assert scorer.threads[-1] == loop_thread  # ran on the caller's event loop
        return [d.status for d in got]

    assert asyncio.run(main()) == ["EXECUTED", "BLOCKED_AWAITING_AUTH"]


def test_scorer_explain() -> None:
    gw = sg.Gateway(packs=[SCORED_PACK], scorer=AsyncScorer(), escalation_timeout=0.2)
    with pytest.raises(sg.ApprovalTimeout) as info:
        gw.guard(TOOL_HIGH, lambda: None)
    answer = gw.explain(info.value.action_id, "why?")
    assert answer == "TOOL is 90: you asked 'why?'"
    # Without explain, the core's default answer restates the assessment.
    gw = sg.Gateway(packs=[SCORED_PACK], scorer=SyncScorer(), escalation_timeout=0.2)
    with pytest.raises(sg.ApprovalTimeout) as info:
        gw.guard(TOOL_HIGH, lambda: None)
    assert gw.explain(info.value.action_id, "why?").startswith("TOOL is rated 90 out of 100")


class Boom(Exception):
    pass


@pytest.mark.parametrize("asynchronous", [False, True])
def test_scorer_exception_surfaces_chained_and_fails_closed(asynchronous: bool) -> None:
    raised: List[BaseException] = []

    class Broken:
        def assess(self, action: dict) -> Any:
            raised.append(Boom("scorer is down"))
            if asynchronous:
                async def fail() -> None:
                    raise raised[-1]
                return fail()
            raise raised[-1]

    gw = sg.Gateway(packs=[SCORED_PACK], scorer=Broken(), escalation_timeout=0.2)
    with pytest.raises(sg.ScorerError) as info:
        gw.evaluate(TOOL_LOW)
    err = info.value
    assert err.__cause__ is raised[-1]
    assert "`Broken.assess` raised Boom: scorer is down" in str(err)
    assert err.decision.status == "BLOCKED_AWAITING_AUTH"  # failed closed: never auto-approved
    assert err.decision.to_dict()["scorer"]["outcome"] == "failed"

    async def aevaluate() -> None:
        await gw.aevaluate(TOOL_LOW)

    with pytest.raises(sg.ScorerError) as info:
        asyncio.run(aevaluate())
    assert info.value.__cause__ is raised[-1]

    ran = []
    with pytest.raises(sg.ApprovalTimeout) as timeout:  # escalated, nobody answered
        gw.guard(TOOL_LOW, ran.append, 1)
    assert ran == [] and timeout.value.__cause__ is raised[-1]
    assert timeout.value.code == "expired" and timeout.value.decision is not None
    assert timeout.value.decision.to_dict()["scorer"]["outcome"] == "failed"
    assert "risk scorer unavailable" in gw.status(timeout.value.action_id)["decision"]["analysis"]

    async def aguard() -> None:
        await gw.aguard(TOOL_LOW, ran.append, 2)

    with pytest.raises(sg.ApprovalTimeout) as timeout:
        asyncio.run(aguard())
    assert ran == [] and timeout.value.__cause__ is raised[-1]


def test_scorer_exception_is_the_cause_of_a_denial() -> None:
    error = Boom("scorer is down")

    class Broken:
        def assess(self, action: dict) -> dict:
            raise error

    gw = sg.Gateway(packs=[SCORED_PACK], scorer=Broken(), on_scorer_error="deny")

    async def aguard() -> None:
        await gw.aguard(TOOL_LOW, pytest.fail, "must not run")

    for call in (lambda: gw.guard(TOOL_LOW, pytest.fail, "must not run"), lambda: asyncio.run(aguard())):
        with pytest.raises(sg.Denied) as info:
            call()
        assert info.value.__cause__ is error and info.value.code == "denied"
        assert info.value.decision is not None and info.value.decision.status == "DECLINED"


@pytest.mark.parametrize(
    "result, problem",
    [
        (None, "expected a dict with `risk_score` and `analysis`, found `NoneType`"),
        ({"risk_score": 101, "analysis": ""}, "risk score `101` is outside 0..=100"),
        ({"risk_score": -1, "analysis": ""}, "risk score `-1` is outside 0..=100"),
        ({"risk_score": True, "analysis": ""}, "`risk_score` must be an int, found `bool`"),
        ({"risk_score": 5}, "missing `analysis`"),
    ],
)
def test_invalid_assessments_fail_closed(result: Any, problem: str) -> None:
    class Odd:
        def assess(self, action: dict) -> Any:
            return result

    gw = sg.Gateway(packs=[SCORED_PACK], scorer=Odd())
    with pytest.raises(sg.ScorerError, match="invalid assessment") as info:
        gw.evaluate(TOOL_LOW)
    assert problem in str(info.value)
    assert info.value.__cause__ is None and info.value.decision.status == "BLOCKED_AWAITING_AUTH"


class ScriptedApprover:
    """Approves everything at once through the ticket's handle (sync def)."""

    def __init__(self, approve: bool = True) -> None:
        self.approve = approve
        self.tickets: List[dict] = []

    def request(self, ticket: dict) -> None:
        self.tickets.append(ticket)
        ticket["handle"].resolve(approved=self.approve, by="script", channel="test", reason="scripted")


def test_sync_approver_approves_and_declines() -> None:
    approver = ScriptedApprover()
    gw = sg.Gateway(approver=approver)
    assert gw.approver == "ScriptedApprover"
    assert gw.guard(RISKY, lambda: "paid") == "paid"
    ticket = approver.tickets[0]
    assert set(ticket) == {"action_id", "action", "decision", "deadline", "handle"}
    assert ticket["decision"]["risk_score"] == 95 and ticket["handle"].action_id == ticket["action_id"]
    assert gw.guard(SAFE, lambda: "no ticket") == "no ticket" and len(approver.tickets) == 1

    gw = sg.Gateway(approver=ScriptedApprover(approve=False))
    with pytest.raises(sg.Denied, match="Declined by script via test: scripted"):
        gw.guard(RISKY, lambda: pytest.fail("must not run"))


def test_async_approver_resolving_later_on_the_loop() -> None:
    class LaterApprover:
        async def request(self, ticket: dict) -> None:
            async def decide() -> None:
                await asyncio.sleep(0.05)
                ticket["handle"].resolve(approved=True, by="async-human")

            asyncio.get_running_loop().create_task(decide())

    gw = sg.Gateway(approver=LaterApprover(), escalation_timeout=5)

    async def main() -> Any:
        return await gw.aguard(RISKY, lambda: "paid")

    assert asyncio.run(main()) == "paid"


def test_async_approver_from_a_blocking_guard() -> None:
    class Approves:
        async def request(self, ticket: dict) -> None:
            await asyncio.sleep(0)
            ticket["handle"].resolve(approved=True, by="bot")

    assert sg.Gateway(approver=Approves()).guard(RISKY, lambda: "paid") == "paid"


@pytest.mark.parametrize("asynchronous", [False, True])
def test_approver_exception_fails_closed_and_is_chained(asynchronous: bool) -> None:
    error = ConnectionError("phone line down")

    class Down:
        def request(self, ticket: dict) -> Any:
            if asynchronous:
                async def fail() -> None:
                    raise error
                return fail()
            raise error

    gw = sg.Gateway(approver=Down())
    with pytest.raises(sg.ApproverError) as info:
        gw.guard(RISKY, lambda: pytest.fail("must not run"))
    assert info.value.__cause__ is error
    assert "`Down.request` raised ConnectionError: phone line down" in str(info.value)
    assert info.value.code == "approver_failed"
    assert info.value.decision is not None and info.value.decision.risk_score == 95
    assert gw.status(info.value.action_id)["state"] == "ERROR_APPROVER"

    async def aguard() -> None:
        await gw.aguard(RISKY, lambda: pytest.fail("must not run"))

    with pytest.raises(sg.ApproverError) as info:
        asyncio.run(aguard())
    assert info.value.__cause__ is error
    assert gw.status(str(info.value.action_id))["state"] == "ERROR_APPROVER"


def test_approver_returning_a_value_fails_closed_without_a_cause() -> None:
    class Chatty:
        def request(self, ticket: dict) -> str:
            return "calling"

    with pytest.raises(sg.ApproverError, match="must return None, found `str`") as info:
        sg.Gateway(approver=Chatty()).guard(RISKY, lambda: pytest.fail("must not run"))
    assert info.value.__cause__ is None
