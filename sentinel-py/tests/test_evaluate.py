"""evaluate / aevaluate, the Decision object and Gateway configuration."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from conftest import FORBIDDEN, RISKY, SAFE, SCORED_PACK
from sentinel_guard import ConfigError, Decision, Gateway, PolicyError


def test_decision_attributes(gw: Gateway) -> None:
    d = gw.evaluate(RISKY)
    assert isinstance(d, Decision)
    assert d.status == "BLOCKED_AWAITING_AUTH"
    assert d.risk_score == 95
    assert d.rules == ["VaultKeeper/unknown-vendor-large-payment"]
    assert "High risk payment: 10000 to Unknown Corp" in d.analysis
    assert uuid.UUID(d.action_id).version == 7
    assert (d.auto_approved, d.needs_approval, d.declined) == (False, True, False)


def test_decision_to_dict_is_the_wire_form(gw: Gateway) -> None:
    d = gw.evaluate(SAFE).to_dict()
    assert d["status"] == "EXECUTED" and d["risk_score"] == 10
    assert d["packs"][0]["name"] == "VaultKeeper"
    assert d["matched"] == [{"rule": "VaultKeeper/trusted-vendor-small-payment", "pack_version": "1.0.0",
                             "effect": {"set_risk": 10}, "reason": "Small payment of 120 to AWS, a trusted vendor."}]
    assert d["scorer"] == {"outcome": "skipped", "reason": "set_risk"}
    assert set(d["timings"]) == {"rules_ns", "scorer_ns", "total_ns"}
    json.dumps(d)  # plain JSON types only


def test_declined(gw: Gateway) -> None:
    d = gw.evaluate(FORBIDDEN)
    assert d.status == "DECLINED" and d.declined and d.risk_score == 100


def test_each_evaluation_gets_its_own_id(gw: Gateway) -> None:
    assert gw.evaluate(SAFE).action_id != gw.evaluate(SAFE).action_id


def test_aevaluate_matches_evaluate(gw: Gateway) -> None:
    async def main() -> list:
        return list(await asyncio.gather(*(gw.aevaluate(a) for a in (SAFE, RISKY, FORBIDDEN))))

    got = asyncio.run(main())
    assert [d.status for d in got] == ["EXECUTED", "BLOCKED_AWAITING_AUTH", "DECLINED"]
    assert [d.rules for d in got] == [gw.evaluate(a).rules for a in (SAFE, RISKY, FORBIDDEN)]


def test_defaults_and_repr() -> None:
    gw = Gateway()
    assert gw.packs == ["VaultKeeper", "PrivacyShield", "OpsGuard"]
    assert gw.scorer == "offline" and gw.approver is None
    assert gw.escalation_timeout == 180.0
    assert "VaultKeeper" in repr(gw)


def test_packs_by_name_path_and_dict(tmp_path) -> None:
    path = tmp_path / "scored.json"
    path.write_text(json.dumps(SCORED_PACK))
    gw = Gateway(packs=["OpsGuard", str(path)])
    assert gw.packs == ["OpsGuard", "Scored"]
    assert Gateway(packs=[path]).packs == ["Scored"]
    assert Gateway(packs=[SCORED_PACK]).packs == ["Scored"]
    # VaultKeeper is not loaded: a payment is unmatched and escalates.
    assert gw.evaluate(SAFE).rules == []


def test_bad_pack_names_pack_rule_and_pointer() -> None:
    bad = dict(SCORED_PACK, rules=[{"id": "r1", "when": {"gte": {"path": "payload.amount", "value": "ten"}},
                                    "effect": {"set_risk": 10}, "reason": "x"}])
    with pytest.raises(PolicyError) as info:
        Gateway(packs=[bad])
    message = str(info.value)
    assert "`Scored`" in message and "rule `r1`" in message and "/rules/0/when" in message, message
    assert isinstance(info.value, ValueError)


def test_unknown_builtin_or_missing_file_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="cannot read file"):
        Gateway(packs=["/nonexistent/pack.json"])


def test_bad_settings() -> None:
    for timeout in (0.0, -1.0, float("nan")):
        with pytest.raises(ConfigError, match="escalation_timeout"):
            Gateway(escalation_timeout=timeout)
    with pytest.raises(ConfigError, match="unknown scorer `groq-typo`"):
        Gateway(scorer="groq-typo")
    with pytest.raises(TypeError, match="assess"):
        Gateway(scorer=object())
    with pytest.raises(TypeError, match="request"):
        Gateway(approver=object())
    with pytest.raises(TypeError, match="list"):
        Gateway(packs="VaultKeeper")
