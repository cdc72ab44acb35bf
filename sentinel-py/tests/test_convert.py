"""Reading actions: the direct dict walk and its cache of string texts give exactly what the
general conversion gives, whatever the keys and strings are made of."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest

from conftest import FORBIDDEN, RISKY, SAFE
import sentinel_guard as sg


def recorded(gw: sg.Gateway, act: Dict[str, Any]) -> Dict[str, Any]:
    """The action as the store recorded it (declined actions are recorded, never run)."""
    with pytest.raises(sg.Denied) as info:
        gw.guard(act, lambda: pytest.fail("must not run"))
    decision = info.value.decision
    assert decision is not None
    record: Dict[str, Any] = gw.status(decision.action_id)
    return record["action"]  # type: ignore[no-any-return]


def test_keys_from_json_decide_like_literals(gw: sg.Gateway) -> None:
    # json.loads builds keys that are not the interned names of a literal.
    for literal in (SAFE, RISKY, FORBIDDEN):
        parsed = json.loads(json.dumps(literal))
        a, b = gw.evaluate(literal), gw.evaluate(parsed)
        assert (a.status, a.risk_score, a.rules, a.analysis) == (b.status, b.risk_score, b.rules, b.analysis)


def test_str_subclasses_and_optional_fields_read_as_given(gw: sg.Gateway) -> None:
    class Name(str):
        pass

    act = dict(FORBIDDEN, agent_id=Name("ops-bot"), idempotency_key=None, context=None)
    assert recorded(gw, act)["agent_id"] == "ops-bot"
    act = dict(FORBIDDEN, idempotency_key="k-1", context={"ticket": "T-1", "tags": ["a", "b"]})
    got = recorded(gw, act)
    assert got["idempotency_key"] == "k-1"
    assert got["context"] == {"ticket": "T-1", "tags": ["a", "b"]}
    assert got["payload"] == {"table": "users"}


def test_every_string_reads_back_as_sent_across_cache_turnover(gw: sg.Gateway) -> None:
    # More distinct strings than the cache keeps (1024), each sent twice, interleaved with
    # long and non-ASCII ones that are never kept.
    sent: List[str] = [f"agent-{i}" for i in range(1500)]
    for round_ in range(2):
        for i, agent in enumerate(sent[:: 1 if round_ == 0 else 7]):
            payload = {"table": "users", "note": "é" * (i % 3) + "x" * (100 if i % 5 == 0 else 1)}
            got = recorded(gw, dict(FORBIDDEN, agent_id=agent, payload=payload))
            assert got["agent_id"] == agent
            assert got["payload"] == payload


def test_blank_and_surrogate_strings_still_fail_like_before(gw: sg.Gateway) -> None:
    with pytest.raises(sg.InvalidActionError) as info:
        gw.evaluate(dict(SAFE, agent_id="  "))
    assert str(info.value) == "field `agent_id` must not be empty"
    with pytest.raises(sg.InvalidActionError) as empty_key:
        gw.evaluate(dict(SAFE, idempotency_key=""))
    assert empty_key.value.field == "idempotency_key"
    with pytest.raises(sg.SentinelError):
        gw.evaluate(dict(SAFE, reasoning="\ud800"))
    missing = dict(SAFE)
    del missing["reasoning"]
    with pytest.raises(sg.InvalidActionError) as no_reasoning:
        gw.evaluate(missing)
    assert no_reasoning.value.field == "reasoning"
