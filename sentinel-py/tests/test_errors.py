"""Bad input and the exception hierarchy."""

from __future__ import annotations

import datetime

import pytest

from conftest import RISKY, SAFE
import sentinel_guard as sg


@pytest.mark.parametrize(
    "bad, kind, field, message",
    [
        ("not a dict", sg.ActionTypeError, None, "an action must be a JSON object, found string"),
        (object(), sg.ActionTypeError, None, "an action must be a JSON object (a dict), found `object`"),
        ({"action": "X", "payload": {}, "reasoning": ""}, sg.InvalidActionError, "agent_id", "missing field `agent_id`"),
        (dict(SAFE, payload=[1]), sg.ActionTypeError, "payload", "field `payload` must be an object, found array"),
        (dict(SAFE, agent_id=7), sg.ActionTypeError, "agent_id", "field `agent_id` must be a string, found number"),
        (dict(SAFE, action=" "), sg.InvalidActionError, "action", "field `action` must not be empty"),
        (dict(SAFE, agentId="x"), sg.InvalidActionError, "agentId", None),
        (dict(SAFE, payload={"when": datetime.date(2020, 1, 1)}), sg.ActionTypeError, None,
         "field `payload.when`: `date` is not JSON (use dict, list, str, int, float, bool or None)"),
        (dict(SAFE, payload={"xs": [1, float("nan")]}), sg.ActionTypeError, None, "field `payload.xs[1]`: `nan` is not a JSON number"),
        (dict(SAFE, payload={1: "x"}), sg.ActionTypeError, None, "field `payload`: keys must be strings, found `int`"),
        (dict(SAFE, payload={"n": 2**70}), sg.ActionTypeError, None, "field `payload.n`: integer does not fit in 64 bits"),
    ],
)
def test_bad_actions_raise_value_or_type_errors(gw: sg.Gateway, bad, kind, field, message) -> None:
    with pytest.raises(kind) as info:
        gw.evaluate(bad)
    err = info.value
    assert isinstance(err, sg.SentinelError) and isinstance(err, ValueError)
    if kind is sg.ActionTypeError:
        assert isinstance(err, TypeError)
    else:
        assert not isinstance(err, TypeError)
    if message is not None:
        assert str(err) == message
    if field is not None:
        assert err.field == field
    with pytest.raises(kind):
        gw.guard(bad, lambda: pytest.fail("must not run"))


def test_self_referencing_payload_is_refused(gw: sg.Gateway) -> None:
    loop: dict = {}
    loop["self"] = loop
    with pytest.raises(sg.ActionTypeError, match="nested deeper than 128 levels"):
        gw.evaluate(dict(SAFE, payload=loop))


def test_json_types_round_trip() -> None:
    seen = []

    class Recorder:
        def request(self, ticket: dict) -> None:
            seen.append(ticket)
            ticket["handle"].resolve(approved=True, by="test")

    gw = sg.Gateway(approver=Recorder())
    payload = {"amount": 10000, "vendor": "Unknown Corp", "tags": ("a", "b"), "ok": True, "none": None,
               "rate": 0.5, "big": 2**63, "nested": {"k": [1, {"x": -2}]}}
    assert gw.guard(dict(RISKY, payload=payload), lambda: "ran") == "ran"
    assert seen[0]["action"]["payload"] == dict(payload, tags=["a", "b"])
    assert gw.status(seen[0]["action_id"])["action"]["payload"] == seen[0]["action"]["payload"]


def test_hierarchy() -> None:
    for name in ("InvalidActionError", "PolicyError", "ConfigError"):
        assert issubclass(getattr(sg, name), (sg.SentinelError, ValueError))
    assert issubclass(sg.ActionTypeError, sg.InvalidActionError) and issubclass(sg.ActionTypeError, TypeError)
    assert issubclass(sg.ApprovalTimeout, TimeoutError)
    assert issubclass(sg.UnknownActionError, LookupError)
    for name in ("Denied", "ApprovalTimeout", "ScorerError", "ApproverError", "AlreadyExecuted", "ConflictError"):
        assert issubclass(getattr(sg, name), sg.SentinelError)
    assert sg.Denied.__module__ == "sentinel_guard"


def test_unknown_and_malformed_ids(gw: sg.Gateway) -> None:
    with pytest.raises(sg.InvalidActionError, match="`nope` is not an action id"):
        gw.status("nope")
    missing = "01900000-0000-7000-8000-000000000000"
    with pytest.raises(sg.UnknownActionError) as info:
        gw.status(missing)
    assert info.value.action_id == missing
    with pytest.raises(sg.UnknownActionError):
        gw.resolve(missing, approved=True, by="alice")
