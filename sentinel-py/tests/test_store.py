"""Durable stores as configuration: SQLite files and PostgreSQL (from DATABASE_URL)."""

from __future__ import annotations

import os
import pathlib
import threading
import time
from typing import Any, Callable, Dict, List, Optional

import pytest

from conftest import FORBIDDEN, RISKY, SAFE
import sentinel_guard as sg


def test_sqlite_file_keeps_decisions_and_audit(tmp_path: pathlib.Path) -> None:
    db = tmp_path / "sentinel.db"
    first = sg.Gateway(store=db, escalation_timeout=60)
    assert first.store == "sqlite"
    assert first.guard(SAFE, lambda: "ok") == "ok"
    with pytest.raises(sg.Denied) as denied:
        first.guard(FORBIDDEN, lambda: None)
    with pytest.raises(sg.ApprovalTimeout):
        sg.Gateway(store=f"sqlite://{db}", escalation_timeout=0.05).guard(RISKY, lambda: None)
    pending = first.evaluate(RISKY)  # evaluate records nothing
    with pytest.raises(sg.UnknownActionError):
        first.status(pending.action_id)
    trail = first.audit_trail(str(denied.value.action_id))
    del first

    second = sg.Gateway(store=str(db))  # a new process would see the same
    record = second.status(str(denied.value.action_id))
    assert record["state"] == "DECLINED" and record["decision"]["rules"]
    assert second.audit_trail(str(denied.value.action_id)) == trail
    kinds = [(e["from"], e["to"]) for e in trail]
    assert kinds[0] == (None, "RECEIVED") and kinds[-1][1] == "DECLINED"
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in zip(trail, trail[1:]))


def test_idempotent_retry_on_a_second_gateway(tmp_path: pathlib.Path) -> None:
    db = tmp_path / "retries.db"
    keyed = dict(SAFE, idempotency_key="invoice-42")
    runs: List[str] = []
    first = sg.Gateway(store=db)
    assert first.guard(keyed, lambda: runs.append("paid") or "paid") == "paid"
    second = sg.Gateway(store=db)
    with pytest.raises(sg.AlreadyExecuted) as again:
        second.guard(keyed, lambda: runs.append("paid twice"))
    assert runs == ["paid"]
    assert second.audit_trail(str(again.value.action_id))[-1]["kind"] == "execution"
    assert first.status(str(again.value.action_id))["executed_at"]
    with pytest.raises(sg.ConflictError) as conflict:  # same key, different action
        second.guard(dict(keyed, payload={"amount": 121, "vendor": "AWS"}), lambda: None)
    assert conflict.value.code == "idempotency_conflict"
    assert conflict.value.action_id == again.value.action_id  # the action that holds the key


def from_arguments(db: pathlib.Path, approver: Optional[object] = None) -> sg.Gateway:
    return sg.Gateway(store=db, escalation_timeout=60, approver=approver)


def from_config(db: pathlib.Path, approver: Optional[object] = None) -> sg.Gateway:
    path = db.with_suffix(".toml")
    path.write_text(f'[gateway]\nescalation_timeout_s = 60\n[store]\nurl = "{db.name}"\n')  # relative to the file
    return sg.Gateway.from_config(path, approver=approver)


class Asked:
    """An approver that only notes which actions it was asked about (a human decides later)."""

    def __init__(self) -> None:
        self.ids: List[str] = []

    def request(self, ticket: Dict[str, Any]) -> None:
        self.ids.append(ticket["action_id"])

    def first(self) -> str:
        deadline = time.monotonic() + 10
        while not self.ids:
            assert time.monotonic() < deadline, "no pending action"
            time.sleep(0.01)
        return self.ids[0]


@pytest.mark.parametrize("make", [from_arguments, from_config])
def test_pending_approval_survives_a_restart(tmp_path: pathlib.Path, make: Callable[..., sg.Gateway]) -> None:
    db = tmp_path / "pending.db"
    # The action id comes from the approver, not from reading the database here: Python's own
    # sqlite3 is a second copy of SQLite in this process, and closing its connection drops the
    # POSIX locks the extension's copy holds on the same file (SQLite's "multiple copies"
    # hazard: the file can be corrupted).
    asked = Asked()
    first = make(db, approver=asked)
    out: Dict[str, Any] = {}
    waiter = threading.Thread(target=lambda: out.update(result=first.guard(RISKY, lambda: "paid")))
    waiter.start()
    action_id = asked.first()
    assert first.status(action_id)["state"] == "BLOCKED_AWAITING_AUTH"
    second = make(db)  # recovers the pending action
    assert second.set_qna_mode(action_id, True, by="alice")["state"] == "QNA_MODE"
    assert second.set_qna_mode(action_id, False, by="alice")["state"] == "BLOCKED_AWAITING_AUTH"
    second.resolve(action_id, approved=True, by="alice", channel="web")
    waiter.join(10)  # SQLite has no NOTIFY: the waiting guard looks every second
    assert out == {"result": "paid"}


def test_store_settings_are_checked(tmp_path: pathlib.Path) -> None:
    assert sg.Gateway().store == "memory"
    # The core classifies store URLs; its messages name the configuration key.
    for settings in ({"store": tmp_path / "x.db", "store_schema": "s"}, {"store_schema": "s"}):
        with pytest.raises(sg.ConfigError, match="schemas need a PostgreSQL store") as info:
            sg.Gateway(**settings)  # type: ignore[arg-type]
        assert info.value.key == "store.schema"
    with pytest.raises(sg.ConfigError, match="unsupported store `mysql://...`") as info:
        sg.Gateway(store="mysql://root:hunter2@db/x")
    assert "hunter2" not in str(info.value) and info.value.key == "store.url"
    with pytest.raises(sg.ConfigError, match="schema name") as info:
        sg.Gateway(store="postgres://root:hunter2@127.0.0.1:1/x", store_schema="no-dashes")
    assert "hunter2" not in str(info.value) and info.value.key == "store.schema"
    with pytest.raises(TypeError):
        sg.Gateway(store=42)  # type: ignore[arg-type]


@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="DATABASE_URL is not set (PostgreSQL tests need a server)")
def test_postgres_resolve_on_one_gateway_releases_a_guard_on_another(pg_schema: str) -> None:
    url, schema = os.environ["DATABASE_URL"], pg_schema
    other = sg.Gateway(store=url, store_schema=schema, escalation_timeout=60)
    assert other.store == "postgres"
    requested: List[str] = []

    class Recorder:
        def request(self, ticket: Dict[str, Any]) -> None:
            requested.append(ticket["action_id"])

    waiting = sg.Gateway(store=url, store_schema=schema, approver=Recorder(), escalation_timeout=60)
    out: Dict[str, Any] = {}
    thread = threading.Thread(target=lambda: out.update(result=waiting.guard(RISKY, lambda: "paid")))
    thread.start()
    deadline = time.monotonic() + 10
    while not requested:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    other.resolve(requested[0], approved=True, by="bob", channel="web")
    thread.join(10)
    assert out == {"result": "paid"}
    assert other.status(requested[0])["approval"]["by"] == "bob"
