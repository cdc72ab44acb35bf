"""Bad input and the exception hierarchy."""

from __future__ import annotations

import datetime
import pathlib
import sqlite3
from typing import Any, Callable, List, Tuple

import pytest

from conftest import FORBIDDEN, RISKY, SAFE, SCORED_PACK, action
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
    assert issubclass(sg.ReceiptMismatch, sg.ConflictError)
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


MISSING = "01900000-0000-7000-8000-000000000000"


class Down:
    def request(self, ticket: dict) -> None:
        raise ConnectionError("phone line down")


class BrokenScorer:
    def assess(self, action: dict) -> dict:
        raise ConnectionError("scorer is down")


def raised(call: Callable[[], Any]) -> sg.SentinelError:
    with pytest.raises(sg.SentinelError) as info:
        call()
    return info.value


def test_every_exception_carries_the_core_code(tmp_path: pathlib.Path) -> None:
    gw = sg.Gateway(escalation_timeout=0.2)
    declined = raised(lambda: gw.guard(FORBIDDEN, lambda: None))
    keyed = dict(SAFE, idempotency_key="invoice-9")
    gw.guard(keyed, lambda: None)
    cases: List[Tuple[sg.SentinelError, type, str]] = [
        (declined, sg.Denied, "denied"),
        (raised(lambda: gw.guard(RISKY, lambda: None)), sg.ApprovalTimeout, "expired"),
        (raised(lambda: sg.Gateway(approver=Down()).guard(RISKY, lambda: None)), sg.ApproverError, "approver_failed"),
        (raised(lambda: gw.guard(keyed, lambda: None)), sg.AlreadyExecuted, "already_executed"),
        (raised(lambda: gw.resolve(str(declined.action_id), approved=True, by="alice")),  # type: ignore[attr-defined]
         sg.ConflictError, "already_decided"),
        (raised(lambda: gw.guard(dict(keyed, reasoning="another action"), lambda: None)),
         sg.ConflictError, "idempotency_conflict"),
        (raised(lambda: gw.evaluate({"action": "X"})), sg.InvalidActionError, "invalid_action"),
        (raised(lambda: gw.evaluate(dict(SAFE, agent_id=7))), sg.ActionTypeError, "invalid_action"),
        (raised(lambda: gw.status("nope")), sg.InvalidActionError, "invalid_action"),
        (raised(lambda: sg.Gateway(unmatched="maybe")), sg.ConfigError, "invalid_config"),  # type: ignore[arg-type]
        (raised(lambda: sg.Gateway(packs=[SCORED_PACK], scorer=BrokenScorer()).evaluate(action("TOOL", tool="x"))),
         sg.ScorerError, "scorer_failed"),
        (raised(lambda: gw.status(MISSING)), sg.UnknownActionError, "not_found"),
        (raised(lambda: gw.handle_telnyx_webhook({}, b"{}")), sg.ConfigError, "unsupported"),
    ]
    for err, kind, code in cases:
        assert (type(err), err.code) == (kind, code), err
    refused = [err for err, kind, _ in cases[:4]]
    assert all(err.decision is not None and err.action_id == err.decision.action_id  # type: ignore[attr-defined]
               for err in refused)
    conflict = cases[5][0]
    assert conflict.action_id == cases[3][0].action_id  # type: ignore[attr-defined]  # the key's holder


def test_receipt_mismatch_when_the_packs_changed(tmp_path: pathlib.Path) -> None:
    db = tmp_path / "receipts.db"
    keyed = dict(SAFE, idempotency_key="invoice-10")
    sg.Gateway(store=db).guard(keyed, lambda: None)
    without_vaultkeeper = sg.Gateway(store=db, packs=["OpsGuard"])
    err = raised(lambda: without_vaultkeeper.guard(keyed, lambda: pytest.fail("must not run")))
    assert type(err) is sg.ReceiptMismatch and isinstance(err, sg.ConflictError)
    assert err.code == "receipt_mismatch" and "pack `VaultKeeper` is no longer in force" in str(err)


def test_store_failures_are_coded(tmp_path: pathlib.Path) -> None:
    db = tmp_path / "broken.db"
    gw = sg.Gateway(store=db)
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE sentinel_actions")
    err = raised(lambda: gw.guard(SAFE, lambda: pytest.fail("must not run")))
    assert (type(err), err.code) == (sg.SentinelError, "store_unavailable"), err


def test_every_class_names_its_code() -> None:
    expected = {
        "SentinelError": "internal", "InvalidActionError": "invalid_action", "ActionTypeError": "invalid_action",
        "PolicyError": "invalid_pack", "ConfigError": "invalid_config", "Denied": "denied",
        "ApprovalTimeout": "expired", "ApproverError": "approver_failed", "ScorerError": "scorer_failed",
        "AlreadyExecuted": "already_executed", "UnknownActionError": "not_found",
        "ConflictError": "already_decided", "ReceiptMismatch": "receipt_mismatch",
    }
    assert {name: getattr(sg, name).code for name in expected} == expected
    assert sg.Denied("raised by a test").code == "denied"  # user-raised instances too
