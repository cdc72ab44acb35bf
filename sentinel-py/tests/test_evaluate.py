"""evaluate / aevaluate, the Decision object and Gateway configuration."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from conftest import FORBIDDEN, RISKY, SAFE, SCORED_PACK, action
from sentinel_guard import ConfigError, Decision, Denied, Gateway, PolicyError, ScorerError


def test_decision_attributes(gw: Gateway) -> None:
    d = gw.evaluate(RISKY)
    assert isinstance(d, Decision)
    assert d.status == "BLOCKED_AWAITING_AUTH"
    assert d.risk_score == 95
    assert d.rules == ["VaultKeeper/unknown-vendor-large-payment", "VaultKeeper/untrusted-vendor-over-1000"]
    assert "High risk payment: 10000 to Unknown Corp" in d.analysis
    assert uuid.UUID(d.action_id).version == 7
    assert (d.auto_approved, d.needs_approval, d.declined) == (False, True, False)


def test_decision_to_dict_is_the_wire_form(gw: Gateway) -> None:
    d = gw.evaluate(SAFE).to_dict()
    assert d["status"] == "EXECUTED" and d["risk_score"] == 10
    assert d["packs"][0]["name"] == "VaultKeeper"
    assert d["matched"] == [{"rule": "VaultKeeper/trusted-vendor-small-payment", "pack_version": "1.1.0",
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
    # The core reads `packs=` as the configuration's `packs` list: a pack that does not load
    # is a policy error (code `invalid_pack`) at that entry, naming pack, rule and pointer.
    bad = dict(SCORED_PACK, rules=[{"id": "r1", "when": {"gte": {"path": "payload.amount", "value": "ten"}},
                                    "effect": {"set_risk": 10}, "reason": "x"}])
    with pytest.raises(PolicyError) as info:
        Gateway(packs=["OpsGuard", bad])
    message = str(info.value)
    assert message.startswith("invalid config, at `packs[1]`: in pack `Scored`, rule `r1`"), message
    assert "/rules/0/when" in message, message
    assert (info.value.key, info.value.code) == ("packs[1]", "invalid_pack")
    assert isinstance(info.value, ValueError)


def test_unknown_builtin_or_missing_file_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="cannot read file") as info:
        Gateway(packs=["/nonexistent/pack.json"])
    assert info.value.key == "packs[0]"
    with pytest.raises(ConfigError, match="must not be empty"):
        Gateway(packs=[""])


def test_bad_settings() -> None:
    for timeout in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="escalation_timeout") as info:
            Gateway(escalation_timeout=timeout)
        assert info.value.key == "gateway.escalation_timeout_s"
    with pytest.raises(ConfigError, match="unknown variant `groq-typo`, expected `offline` or `groq`") as info:
        Gateway(scorer="groq-typo")
    assert info.value.key == "scorer.kind"
    with pytest.raises(TypeError, match="assess"):
        Gateway(scorer=object())
    with pytest.raises(TypeError, match="request"):
        Gateway(approver=object())
    with pytest.raises(TypeError, match="list"):
        Gateway(packs="VaultKeeper")


UNCOVERED = action("SEND_NEWSLETTER", agent="mailer")  # no seed pack applies


def test_unmatched_actions() -> None:
    assert Gateway().evaluate(UNCOVERED).status == "BLOCKED_AWAITING_AUTH"  # the default
    assert Gateway(unmatched="escalate").evaluate(UNCOVERED).status == "BLOCKED_AWAITING_AUTH"
    denied = Gateway(unmatched="deny").evaluate(UNCOVERED)
    assert (denied.status, denied.rules) == ("DECLINED", [])

    class Low:
        def assess(self, action: dict) -> dict:
            return {"risk_score": 10, "analysis": "newsletters are routine"}

    scored = Gateway(unmatched="score", scorer=Low()).evaluate(UNCOVERED)
    assert (scored.status, scored.risk_score) == ("EXECUTED", 10)
    assert Gateway(unmatched="deny").evaluate(SAFE).status == "EXECUTED"  # covered actions are unchanged
    with pytest.raises(ConfigError, match="expected one of `escalate`, `deny`, `score`") as info:
        Gateway(unmatched="maybe")  # type: ignore[arg-type]
    assert info.value.key == "gateway.unmatched"


def test_on_scorer_error() -> None:
    class Down:
        def assess(self, action: dict) -> dict:
            raise ConnectionError("scorer is down")

    tool = action("TOOL", tool="search")
    with pytest.raises(ScorerError) as info:
        Gateway(packs=[SCORED_PACK], scorer=Down()).evaluate(tool)
    assert info.value.decision is not None and info.value.decision.status == "BLOCKED_AWAITING_AUTH"
    strict = Gateway(packs=[SCORED_PACK], scorer=Down(), on_scorer_error="deny")
    with pytest.raises(ScorerError) as info:
        strict.evaluate(tool)
    assert info.value.decision is not None and info.value.decision.status == "DECLINED"
    with pytest.raises(Denied) as denied:
        strict.guard(tool, lambda: pytest.fail("must not run"))
    assert isinstance(denied.value.__cause__, ConnectionError)
    with pytest.raises(ConfigError) as bad:
        Gateway(on_scorer_error="score")  # type: ignore[arg-type]
    assert bad.value.key == "gateway.on_scorer_error"
