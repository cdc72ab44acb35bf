"""The Telnyx voice approver as configuration: a fake Telnyx API, signed webhooks, fail-closed."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from conftest import RISKY, SAFE
from fake_http import FakeServer, Reply, Request
import sentinel_guard as sg

API_KEY = "KEYtest0123456789abcdefghij"
CONNECTION = "1494404757140276705"
FROM, ADMIN = "+15550000001", "+15550000002"
PUBLIC_URL = "https://sentinel.example.com"
TELNYX_VARS = ("TELNYX_API_KEY", "TELNYX_CONNECTION_ID", "TELNYX_PHONE_NUMBER", "ADMIN_PHONE_NUMBER",
               "TELNYX_PUBLIC_KEY", "SENTINEL_PUBLIC_URL", "TELNYX_API_BASE", "TELNYX_APPROVAL_PIN",
               "TELNYX_GATHER_TIMEOUT_SECS", "TELNYX_MAX_REPLAYS", "TELNYX_RING_TIMEOUT_SECS",
               "TELNYX_CALL_TIME_LIMIT_SECS", "TELNYX_VOICE", "TELNYX_LANGUAGE")
events = itertools.count(1)


def telnyx_reply(request: Request) -> Reply:
    if request.path == "/v2/calls":
        return 200, {"data": {"call_control_id": "v3:call-1", "call_leg_id": "leg-1",
                              "call_session_id": "session-1", "is_alive": False, "record_type": "call"}}
    return 200, {"data": {"result": "ok"}}


class Phone:
    """The fake Telnyx API, the signing key standing in for Telnyx's, and webhook bodies."""

    def __init__(self) -> None:
        self.api = FakeServer(telnyx_reply)
        self.key = Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_key = base64.b64encode(raw).decode()

    def approver(self, **settings: Any) -> sg.TelnyxApprover:
        config: Dict[str, Any] = dict(api_key=API_KEY, connection_id=CONNECTION, from_number=FROM,
                                      admin_number=ADMIN, public_key=self.public_key, public_url=PUBLIC_URL,
                                      api_base=self.api.url + "/v2")
        return sg.TelnyxApprover(**{**config, **settings})

    def event(self, event_type: str, **extra: Any) -> bytes:
        """A webhook body for the first call, echoing the latest command's client state."""
        last = self.api.requests[-1].json if self.api.requests else {}
        payload = {"call_control_id": "v3:call-1", "call_leg_id": "leg-1", "call_session_id": "session-1",
                   "client_state": last.get("client_state"), "connection_id": CONNECTION, "from": FROM, "to": ADMIN}
        payload.update(extra)
        body = {"data": {"record_type": "event", "event_type": event_type, "id": f"evt-{next(events)}",
                         "occurred_at": "2027-01-15T08:00:00.000000Z", "payload": payload}}
        return json.dumps(body).encode()

    def sign(self, body: bytes, key: Optional[Ed25519PrivateKey] = None) -> Dict[str, str]:
        timestamp = str(int(time.time()))
        signature = (key or self.key).sign(timestamp.encode() + b"|" + body)
        return {"Telnyx-Signature-Ed25519": base64.b64encode(signature).decode(), "Telnyx-Timestamp": timestamp}

    def wait_for(self, path: str, count: int = 1) -> None:
        deadline = time.monotonic() + 10
        while self.api.paths().count(path) < count:
            assert time.monotonic() < deadline, f"no {path} request: {self.api.paths()}"
            time.sleep(0.01)


@pytest.fixture
def phone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Phone]:
    for var in TELNYX_VARS:
        monkeypatch.delenv(var, raising=False)
    p = Phone()
    yield p
    p.api.close()


def guard_in_thread(gw: sg.Gateway, action: Dict[str, Any], ran: List[str]) -> Tuple[threading.Thread, Dict[str, Any]]:
    out: Dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = gw.guard(action, lambda: ran.append("paid") or "paid")
        except BaseException as e:  # noqa: BLE001 - handed to the test
            out["error"] = e

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_escalation_dials_and_press_1_approves(phone: Phone) -> None:
    gw = sg.Gateway(approver=phone.approver(), escalation_timeout=20)
    assert gw.approver == "telnyx-voice"
    ran: List[str] = []
    thread, out = guard_in_thread(gw, RISKY, ran)
    phone.wait_for("/v2/calls")
    dial = phone.api.requests[0]
    assert dial.headers["authorization"] == f"Bearer {API_KEY}"
    body = dial.json
    assert (body["connection_id"], body["to"], body["from"]) == (CONNECTION, ADMIN, FROM)
    assert body["webhook_url"] == f"{PUBLIC_URL}/api/telnyx/webhook"
    assert body["client_state"] and body["command_id"]
    action_id = json.loads(base64.b64decode(body["client_state"]))["action_id"]
    assert gw.status(action_id)["state"] == "BLOCKED_AWAITING_AUTH"

    # A forged webhook: 401 and nothing changes.
    forged = phone.event("call.gather.ended", digits="1", status="valid")
    assert gw.handle_telnyx_webhook(phone.sign(forged, Ed25519PrivateKey.generate()), forged) == 401
    tampered = phone.event("call.answered")
    headers = phone.sign(tampered)
    assert gw.handle_telnyx_webhook(headers, tampered.replace(b"call.answered", b"call.hangup!")) == 401
    assert gw.handle_telnyx_webhook({}, tampered) == 401
    assert phone.api.paths() == ["/v2/calls"] and gw.status(action_id)["state"] == "BLOCKED_AWAITING_AUTH"
    assert ran == [] and thread.is_alive()

    answered = phone.event("call.answered", state="answered")
    assert gw.handle_telnyx_webhook(phone.sign(answered), answered) == 200
    assert phone.api.paths()[-1] == "/v2/calls/v3:call-1/actions/gather_using_speak"
    menu = phone.api.requests[-1].json
    assert "Unknown Corp" in menu["payload"] and menu["valid_digits"] == "12"
    pressed = phone.event("call.gather.ended", digits="1", status="valid")
    assert gw.handle_telnyx_webhook(phone.sign(pressed), pressed) == 200
    thread.join(10)
    assert out == {"result": "paid"} and ran == ["paid"]
    record = gw.status(action_id)
    assert (record["approval"]["by"], record["approval"]["channel"]) == (ADMIN, "voice/dtmf")
    trail = gw.audit_trail(action_id)
    assert any(e["to"] == "APPROVED" and e["channel"] == "voice/dtmf" for e in trail)
    # The same event again changes nothing.
    assert gw.handle_telnyx_webhook(phone.sign(pressed), pressed) == 200
    assert ran == ["paid"]


@pytest.mark.parametrize("failure", [(422, {"errors": [{"code": "10015", "title": "Bad request"}]}), (500, {})])
def test_failed_dial_fails_closed(phone: Phone, failure: Reply) -> None:
    gw = sg.Gateway(approver=phone.approver(), escalation_timeout=20)
    phone.api.default = lambda request: failure
    ran: List[str] = []
    with pytest.raises(sg.ApproverError) as info:
        gw.guard(RISKY, lambda: ran.append("paid"))
    assert ran == []
    assert "could not place the approval call" in str(info.value) and API_KEY not in str(info.value)
    assert gw.status(str(info.value.action_id))["state"] == "ERROR_APPROVER"
    assert phone.api.paths()[0] == "/v2/calls"
    assert gw.guard(SAFE, lambda: "ok") == "ok"  # auto-approved actions never call


def test_async_webhook_and_shared_approver(phone: Phone) -> None:
    approver = phone.approver(max_replays=1)
    gw = sg.Gateway(approver=approver, escalation_timeout=20)

    async def main() -> Any:
        task = asyncio.ensure_future(gw.aguard(RISKY, lambda: "paid"))
        while "/v2/calls" not in phone.api.paths():
            await asyncio.sleep(0.01)
        answered = phone.event("call.answered")
        assert await gw.ahandle_telnyx_webhook(phone.sign(answered), answered) == 200
        assert await gw.ahandle_telnyx_webhook({}, b"{}") == 401
        pressed = phone.event("call.dtmf.received", digit="1")
        assert approver.handle_webhook(phone.sign(pressed), pressed.decode()) == 200  # the same calls
        return await asyncio.wait_for(task, 10)

    assert asyncio.run(main()) == "paid"


def test_config_from_arguments_and_environment(phone: Phone, monkeypatch: pytest.MonkeyPatch) -> None:
    # The messages are the core's: they name the configuration key and, for a value that
    # should have come from the environment, the variable; never a secret.
    with pytest.raises(sg.ConfigError, match="nor environment variable `TELNYX_") as missing:
        sg.Gateway(approver="telnyx")
    assert missing.value.key is not None and missing.value.key.startswith("approver.telnyx.")
    assert missing.value.env is not None and missing.value.env.startswith("TELNYX_")
    with pytest.raises(sg.ConfigError, match="at `approver.telnyx.admin_number`: `555-1234` is not an E.164 number"):
        phone.approver(admin_number="555-1234")
    with pytest.raises(sg.ConfigError, match="PIN must be 4 to 12 digits") as info:
        phone.approver(pin="12ab")
    assert "12ab" not in str(info.value)
    with pytest.raises(sg.ConfigError, match="at `approver.telnyx.public_key`"):
        phone.approver(public_key="not base64!")
    with pytest.raises(sg.ConfigError, match="at `approver.telnyx.gather_timeout_s`"):
        phone.approver(gather_timeout=500)
    with pytest.raises(sg.ConfigError, match="no Telnyx approver") as unsupported:
        sg.Gateway().handle_telnyx_webhook({}, b"{}")
    assert unsupported.value.code == "unsupported"
    with pytest.raises(sg.ConfigError, match="unknown variant `slack`, expected `none` or `telnyx`"):
        sg.Gateway(approver="slack")

    env = {"TELNYX_API_KEY": API_KEY, "TELNYX_CONNECTION_ID": CONNECTION, "TELNYX_PHONE_NUMBER": FROM,
           "ADMIN_PHONE_NUMBER": ADMIN, "TELNYX_PUBLIC_KEY": phone.public_key, "TELNYX_API_BASE": phone.api.url + "/v2"}
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    approver = sg.TelnyxApprover()
    assert (approver.admin_number, approver.api_base, approver.webhook_url) == (ADMIN, phone.api.url + "/v2", None)
    assert API_KEY not in repr(approver)
    gw = sg.Gateway(approver="telnyx", escalation_timeout=20)
    with pytest.raises(sg.ApproverError):  # the fake refuses: proves the env settings are used
        phone.api.default = lambda request: (401, {"errors": [{"code": "10009", "title": "Authentication failed"}]})
        gw.guard(RISKY, lambda: None)
    assert phone.api.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
