"""The shared decision corpus (fixtures/decisions.jsonl), as the Rust tests run it."""

from __future__ import annotations

import json

import pytest

from conftest import CORPUS
from sentinel_guard import Gateway, InvalidActionError

CASES = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_corpus_is_the_shared_file() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_corpus_case(case: dict) -> None:
    gw = Gateway()
    expect = case["expect"]
    if "error" in expect:
        with pytest.raises(InvalidActionError) as info:
            gw.evaluate(case["action"])
        assert str(info.value) == expect["error"]
        return
    d = gw.evaluate(case["action"])
    assert {"status": d.status, "risk_score": d.risk_score, "rules": d.rules} == {
        "status": expect["status"],
        "risk_score": expect["risk_score"],
        "rules": expect["rules"],
    }, d.analysis
    if "analysis_contains" in expect:
        assert expect["analysis_contains"] in d.analysis
