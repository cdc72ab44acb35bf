"""gateway.metrics(): the core's snapshot; and sentinel-server's GET /metrics read with the
official Prometheus text parser (prometheus_client) after a scripted run."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import FORBIDDEN, REPO, RISKY, SAFE
from sentinel_guard import Denied, Gateway


def value(snapshot: Dict[str, Any], name: str, **labels: str) -> Any:
    for sample in snapshot[name]["samples"]:
        if sample["labels"] == labels:
            return sample.get("value", sample)
    raise AssertionError(f"no sample {name} {labels} in {snapshot[name]}")


class Spy:
    """An approver that only remembers which actions were escalated."""

    def __init__(self) -> None:
        self.ids: List[str] = []

    def request(self, ticket: Dict[str, Any]) -> None:
        self.ids.append(ticket["action_id"])


def test_metrics_count_decisions_and_human_approvals() -> None:
    spy = Spy()
    gw = Gateway(approver=spy, escalation_timeout=10)
    before = gw.metrics()
    assert before["sentinel_decisions_total"]["type"] == "counter"
    assert value(before, "sentinel_decisions_total", status="EXECUTED") == 0

    gw.evaluate(SAFE)
    gw.evaluate(FORBIDDEN)
    assert gw.guard(SAFE, lambda: "paid") == "paid"
    with pytest.raises(Denied):
        gw.guard(FORBIDDEN, lambda: "dropped")

    # A human approves the risky payment from another thread while guard waits.
    def approve() -> None:
        deadline = time.monotonic() + 5
        while not spy.ids:
            assert time.monotonic() < deadline, "no escalation seen"
            time.sleep(0.005)
        assert value(gw.metrics(), "sentinel_approvals_pending") == 1
        gw.resolve(spy.ids[0], approved=True, by="alice", channel="python")

    helper = threading.Thread(target=approve)
    helper.start()
    assert gw.guard(RISKY, lambda: "paid") == "paid"
    helper.join()

    m = gw.metrics()
    assert value(m, "sentinel_decisions_total", status="EXECUTED") == 2
    assert value(m, "sentinel_decisions_total", status="DECLINED") == 2
    assert value(m, "sentinel_decisions_total", status="BLOCKED_AWAITING_AUTH") == 1
    assert value(m, "sentinel_approvals_pending") == 0
    assert value(m, "sentinel_scorer_calls_avoided_total", reason="deny") == 2
    human = value(m, "sentinel_human_decision_seconds", channel="python", decision="approved")
    assert human["count"] == 1 and human["buckets"]["+Inf"] == 1
    vault = next(s for s in m["sentinel_pack_decisions_total"]["samples"]
                 if s["labels"]["pack"] == "VaultKeeper" and s["labels"]["status"] == "EXECUTED")
    assert vault["value"] == 2 and vault["labels"]["version"]
    json.dumps(m)  # plain JSON types only


# ---------------------------------------------------------------- sentinel-server /metrics

ADMIN = "admin-token-0123456789"
SCRAPER = "scrape-token-0123456789"
KEYS = {"billing-bot": "key-billing-0123456789", "ops-bot": "key-ops-bot-0123456789",
        "session_*": "key-session-0123456789"}


def server_binary() -> Optional[pathlib.Path]:
    given = os.environ.get("SENTINEL_SERVER_BIN")
    if given:
        return pathlib.Path(given)
    triple = os.environ.get("CARGO_BUILD_TARGET", "")
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    for candidate in (target / triple / "debug" / "sentinel-server", target / "debug" / "sentinel-server"):
        if candidate.is_file():
            return candidate
    return None


@pytest.fixture
def server(tmp_path: pathlib.Path) -> Iterator[str]:
    binary = server_binary()
    if binary is None:
        pytest.skip("no sentinel-server binary: build the workspace first (or set SENTINEL_SERVER_BIN)")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GROQ_", "TELNYX_", "SENTINEL_", "OTEL_"))}
    env.update(SENTINEL_BIND="127.0.0.1:0", SENTINEL_ADMIN_TOKEN=ADMIN, SENTINEL_METRICS_TOKEN=SCRAPER,
               SENTINEL_AGENT_KEYS=",".join(f"{a}={k}" for a, k in KEYS.items()),
               SENTINEL_LOG_FORMAT="text", RUST_LOG="info")
    proc = subprocess.Popen([str(binary), "serve"], env=env, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        assert proc.stderr is not None
        base = None
        deadline = time.time() + 60
        while base is None and time.time() < deadline:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                raise AssertionError(f"sentinel-server exited: {proc.returncode}")
            found = re.search(r"http://127\.0\.0\.1:\d+", line)
            if found:
                base = found.group(0)
        assert base is not None, "sentinel-server did not say where it listens"
        # Keep reading its log so that it never blocks on a full pipe.
        threading.Thread(target=proc.stderr.read, daemon=True).start()
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def call(base: str, path: str, token: Optional[str], body: Optional[Dict[str, Any]] = None) -> Tuple[int, str]:
    request = urllib.request.Request(f"{base}{path}", data=None if body is None else json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def scraped(base: str) -> Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]:
    status, text = call(base, "/metrics", SCRAPER)
    assert status == 200, text
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def test_server_metrics_parse_with_the_prometheus_parser_after_a_scripted_run(server: str) -> None:
    status, _ = call(server, "/metrics", None)
    assert status == 401
    status, _ = call(server, "/metrics", KEYS["billing-bot"])
    assert status == 403

    pay = {"agent_id": "billing-bot", "action": "PAY_INVOICE", "payload": {"amount": 120, "vendor": "AWS"},
           "reasoning": "hosting"}
    drop = {"agent_id": "ops-bot", "action": "DROP_TABLE", "payload": {"table": "users"}, "reasoning": "cleanup"}
    risky = {"agent_id": "session_7", "action": "PAY_INVOICE",
             "payload": {"amount": 10000, "vendor": "Unknown Corp"}, "reasoning": "invoice"}
    assert call(server, "/api/sentinel/execute", KEYS["billing-bot"], pay)[0] == 200
    assert call(server, "/api/sentinel/execute", KEYS["billing-bot"], pay)[0] == 200
    assert call(server, "/api/sentinel/execute", KEYS["ops-bot"], drop)[0] == 200
    status, body = call(server, "/api/sentinel/execute", KEYS["session_*"], risky)
    assert status == 200, body
    action_id = json.loads(body)["action_id"]

    m = scraped(server)
    assert m[("sentinel_approvals_pending", ())] == 1
    status, body = call(server, f"/api/sentinel/actions/{action_id}/resolve", ADMIN,
                        {"decision": "decline", "by": "alice", "reason": "unknown vendor"})
    assert status == 200, body

    m = scraped(server)
    assert m[("sentinel_decisions_total", (("status", "EXECUTED"),))] == 2
    assert m[("sentinel_decisions_total", (("status", "DECLINED"),))] == 1
    assert m[("sentinel_decisions_total", (("status", "BLOCKED_AWAITING_AUTH"),))] == 1
    assert m[("sentinel_approvals_pending", ())] == 0
    assert m[("sentinel_scorer_calls_avoided_total", (("reason", "deny"),))] == 1
    human = (("channel", "web"), ("decision", "declined"))
    assert m[("sentinel_human_decision_seconds_count", human)] == 1
    assert m[("sentinel_human_decision_seconds_bucket", human + (("le", "+Inf"),))] == 1
    assert m[("sentinel_http_requests_total",
              (("code", "200"), ("method", "POST"), ("route", "/api/sentinel/execute")))] == 4
    assert m[("sentinel_http_requests_total",
              (("code", "401"), ("method", "GET"), ("route", "/metrics")))] == 1
    assert m[("sentinel_http_requests_total",
              (("code", "403"), ("method", "GET"), ("route", "/metrics")))] == 1
    assert m[("sentinel_http_requests_total",
              (("code", "200"), ("method", "POST"), ("route", "/api/sentinel/actions/{id}/resolve")))] == 1
    assert not any(action_id in v for _, labels in m for _, v in labels)

    # The server and the binding expose the same families.
    families = {f.name for f in text_string_to_metric_families(call(server, "/metrics", ADMIN)[1])}
    snapshot = Gateway().metrics()
    assert {re.sub(r"_total$", "", n) for n in snapshot} == families
