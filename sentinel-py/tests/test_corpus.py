"""The shared decision corpus (fixtures/decisions.jsonl), as the Rust tests run it: through
the shared configuration every host reads (fixtures/sentinel.toml) and through the
constructor's defaults, which must decide the same."""

from __future__ import annotations

import json

import pytest

from conftest import CORPUS, REPO
from sentinel_guard import Gateway, InvalidActionError

CASES = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
CONFIG = REPO / "fixtures" / "sentinel.toml"


@pytest.fixture(scope="module", params=["config", "constructor"])
def gw(request: pytest.FixtureRequest) -> Gateway:
    return Gateway.from_config(CONFIG) if request.param == "config" else Gateway()


def test_corpus_is_the_shared_file() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_corpus_case(gw: Gateway, case: dict) -> None:
    expect = case["expect"]
    if "error" in expect:
        with pytest.raises(InvalidActionError) as info:
            gw.evaluate(case["action"])
        assert str(info.value) == expect["error"]
        assert info.value.code == "invalid_action"
        return
    d = gw.evaluate(case["action"])
    assert {"status": d.status, "risk_score": d.risk_score, "rules": d.rules} == {
        "status": expect["status"],
        "risk_score": expect["risk_score"],
        "rules": expect["rules"],
    }, d.analysis
    if "analysis_contains" in expect:
        assert expect["analysis_contains"] in d.analysis
