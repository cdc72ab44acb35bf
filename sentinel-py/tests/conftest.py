"""Shared helpers for the sentinel_guard tests."""

from __future__ import annotations

import os
import pathlib
import subprocess
import uuid
from typing import Any, Dict, Iterator

import pytest

import sentinel_guard

REPO = pathlib.Path(__file__).resolve().parents[2]
CORPUS = REPO / "fixtures" / "decisions.jsonl"

# A pack that lets the scorer decide every TOOL action (no rule decides first).
SCORED_PACK: Dict[str, Any] = {
    "name": "Scored",
    "version": "1.0.0",
    "applies_to": ["TOOL"],
    "thresholds": {"escalate_above": 50},
    "default": {"risk": 60, "reason": "Tool call {payload.tool}."},
    "rules": [],
}


def action(name: str = "PAY_INVOICE", agent: str = "billing-bot", reasoning: str = "", **payload: Any) -> Dict[str, Any]:
    return {"agent_id": agent, "action": name, "payload": payload, "reasoning": reasoning}


SAFE = action(amount=120, vendor="AWS")  # auto-approved (trusted vendor)
RISKY = action(agent="session_x", amount=10000, vendor="Unknown Corp")  # escalated
FORBIDDEN = action("DROP_TABLE", agent="ops-bot", table="users")  # declined


@pytest.fixture
def gw() -> sentinel_guard.Gateway:
    return sentinel_guard.Gateway(escalation_timeout=5.0)


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema name, dropped with everything in it (by `psql`) after the test."""
    schema = f"py_{uuid.uuid4().hex[:12]}"
    yield schema
    drop = f"SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {schema} CASCADE"
    subprocess.run(["psql", os.environ["DATABASE_URL"], "-qv", "ON_ERROR_STOP=1", "-c", drop], check=True)
