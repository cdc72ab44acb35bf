"""Gateway.from_config: the one configuration (TOML, JSON or a mapping) every host reads."""

from __future__ import annotations

import asyncio
import json
import pathlib
import types
from typing import Any, Dict, Iterator, List

import pytest

from conftest import REPO, RISKY, SAFE, SCORED_PACK, action
from fake_http import FakeServer, Reply
import sentinel_guard as sg

TOOL = action("TOOL", tool="search")  # only the Scored pack covers it: base risk 60, escalated
UNCOVERED = action("SEND_NEWSLETTER", agent="mailer")  # no pack covers it

CONFIG_TOML = """\
[gateway]
unmatched = "deny"
escalation_timeout_s = 42

[[packs]]
builtin = "OpsGuard"
[[packs]]
path = "packs/scored.json"

[store]
url = "sqlite://state.db"
"""

CONFIG: Dict[str, Any] = {
    "gateway": {"unmatched": "deny", "escalation_timeout_s": 42},
    "packs": [{"builtin": "OpsGuard"}, {"path": "packs/scored.json"}],
    "store": {"url": "sqlite://state.db"},
}


@pytest.fixture
def folder(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """A configuration folder with a pack in packs/; the working directory is elsewhere."""
    conf = tmp_path / "conf"
    (conf / "packs").mkdir(parents=True)
    (conf / "packs" / "scored.json").write_text(json.dumps(SCORED_PACK))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return conf


def check(gw: sg.Gateway) -> None:
    assert isinstance(gw, sg.Gateway) and type(gw) is sg.Gateway
    assert gw.packs == ["OpsGuard", "Scored"]
    assert (gw.store, gw.escalation_timeout, gw.scorer, gw.approver) == ("sqlite", 42.0, "offline", None)
    assert gw.evaluate(UNCOVERED).status == "DECLINED"  # unmatched = "deny"
    d = gw.evaluate(TOOL)
    assert (d.status, d.risk_score) == ("BLOCKED_AWAITING_AUTH", 60)
    assert gw.guard(action("RESTART_SERVER", agent="ops-bot", server="api-2", environment="staging"), lambda: "ok") == "ok"


def test_toml_file_paths_are_relative_to_the_file(folder: pathlib.Path) -> None:
    (folder / "sentinel.toml").write_text(CONFIG_TOML)
    check(sg.Gateway.from_config(folder / "sentinel.toml"))  # pathlib.Path
    check(sg.Gateway.from_config(str(folder / "sentinel.toml")))  # str
    assert (folder / "state.db").is_file() and not pathlib.Path("state.db").exists()


def test_json_file_reads_the_same(folder: pathlib.Path) -> None:
    (folder / "sentinel.json").write_text(json.dumps(CONFIG, indent=2))
    check(sg.Gateway.from_config(folder / "sentinel.json"))
    assert (folder / "state.db").is_file()


def test_mapping_paths_are_relative_to_the_working_directory(folder: pathlib.Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(sg.PolicyError, match="cannot read file") as info:
        sg.Gateway.from_config(CONFIG)
    assert info.value.key == "packs[1]" and info.value.file is None
    monkeypatch.chdir(folder)
    check(sg.Gateway.from_config(CONFIG))
    check(sg.Gateway.from_config(types.MappingProxyType(CONFIG)))  # any Mapping
    inline = {"packs": ["VaultKeeper", {"inline": SCORED_PACK}], "gateway": {"on_scorer_error": "deny"}}
    gw = sg.Gateway.from_config(inline)
    assert gw.packs == ["VaultKeeper", "Scored"] and gw.store == "memory"


def test_empty_configuration_is_the_default_gateway(tmp_path: pathlib.Path) -> None:
    (tmp_path / "empty.toml").write_text("")
    for gw in (sg.Gateway.from_config(tmp_path / "empty.toml"), sg.Gateway.from_config({})):
        assert gw.packs == sg.Gateway().packs and gw.store == "memory"
        assert gw.evaluate(RISKY).risk_score == 95


def test_the_shared_fixture_configuration() -> None:
    gw = sg.Gateway.from_config(REPO / "fixtures" / "sentinel.toml")
    assert (gw.packs, gw.store, gw.scorer, gw.approver) == (["VaultKeeper", "PrivacyShield", "OpsGuard"],
                                                            "memory", "offline", None)


@pytest.mark.parametrize("name, text, line", [
    ("typo.toml", '[gateway]\nunmatched = "deny"\nunmatchd = "escalate"\n', 3),
    ("typo.json", '{\n  "gateway": {\n    "unmatched": "deny",\n    "unmatchd": "escalate"\n  }\n}\n', 4),
])
def test_unknown_key_names_file_line_and_key(tmp_path: pathlib.Path, name: str, text: str, line: int) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(sg.ConfigError) as info:
        sg.Gateway.from_config(path)
    err = info.value
    assert (err.key, err.file, err.line, err.env, err.code) == ("gateway.unmatchd", str(path), line, None,
                                                                  "invalid_config")
    assert str(err).startswith(f"invalid config in `{path}`, line {line}, at `gateway.unmatchd`: "
                               "unknown field `unmatchd`, expected one of `unmatched`"), str(err)


def test_errors_in_mappings_name_the_key(tmp_path: pathlib.Path) -> None:
    with pytest.raises(sg.ConfigError) as info:
        sg.Gateway.from_config({"gateway": {"unmatchd": "deny"}})
    assert (info.value.key, info.value.file, info.value.line) == ("gateway.unmatchd", None, None)
    with pytest.raises(sg.ConfigError, match="`nan` is not a JSON number") as info:
        sg.Gateway.from_config({"gateway": {"escalation_timeout_s": float("nan")}})
    assert info.value.key == "gateway.escalation_timeout_s"
    with pytest.raises(sg.ConfigError, match="cannot read the file") as info:
        sg.Gateway.from_config("/nonexistent/sentinel.toml")
    assert info.value.file == "/nonexistent/sentinel.toml"
    with pytest.raises(sg.ConfigError, match="the URL holds a password") as info:  # never in a file
        sg.Gateway.from_config(write(tmp_path, "pw.toml", '[store]\nurl = "postgres://u:hunter2@db/x"\n'))
    assert "hunter2" not in str(info.value)
    with pytest.raises(TypeError, match="path to a TOML or JSON file, or a mapping"):
        sg.Gateway.from_config(42)  # type: ignore[arg-type]


def write(folder: pathlib.Path, name: str, text: str) -> pathlib.Path:
    path = folder / name
    path.write_text(text)
    return path


KEY = "gsk_config_0123456789abcdefghijklmnop"


def score(risk: int) -> Reply:
    content = json.dumps({"risk_score": risk, "analysis": "Routine lookup."})
    return 200, {"id": "c1", "object": "chat.completion", "model": "m",
                 "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]}


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    for var in ("GROQ_API_KEY", "GROQ_BASE_URL", "GROQ_MODEL", "MY_SENTINEL_GROQ_KEY"):
        monkeypatch.delenv(var, raising=False)
    server = FakeServer(lambda request: score(20))
    yield server
    server.close()


def groq_config(folder: pathlib.Path, url: str, secret: str) -> pathlib.Path:
    write(folder, "scored.json", json.dumps(SCORED_PACK))
    return write(folder, "groq.toml", f"""\
[[packs]]
path = "scored.json"

[scorer]
kind = "groq"
[scorer.groq]
base_url = "{url}"
model = "config-model"
{secret}
""")


def test_secrets_come_from_the_environment_variable_the_file_names(
        tmp_path: pathlib.Path, llm: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    path = groq_config(tmp_path, llm.url, 'api_key_env = "MY_SENTINEL_GROQ_KEY"')
    with pytest.raises(sg.ConfigError, match="environment variable `MY_SENTINEL_GROQ_KEY` is not set") as info:
        sg.Gateway.from_config(path)
    assert (info.value.key, info.value.env, info.value.file) == ("scorer.groq.api_key_env", "MY_SENTINEL_GROQ_KEY",
                                                                 str(path))
    monkeypatch.setenv("MY_SENTINEL_GROQ_KEY", KEY)
    gw = sg.Gateway.from_config(path)
    assert gw.scorer == "groq" and gw.evaluate(TOOL).status == "EXECUTED"
    request = llm.requests[-1]
    assert request.headers["authorization"] == f"Bearer {KEY}" and request.json["model"] == "config-model"
    assert gw.scorer_stats() == {"calls": 1, "retries": 0, "cache_hits": 0, "failures": 0}


def test_secret_files_are_relative_to_the_config(tmp_path: pathlib.Path, llm: FakeServer) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "groq.key").write_text(KEY + "\n")
    gw = sg.Gateway.from_config(groq_config(tmp_path, llm.url, 'api_key_file = "secrets/groq.key"'))
    assert gw.evaluate(TOOL).status == "EXECUTED"
    assert llm.requests[-1].headers["authorization"] == f"Bearer {KEY}"


class LowScorer:
    name = "low"

    def assess(self, action: Dict[str, Any]) -> Dict[str, Any]:
        return {"risk_score": 5, "analysis": "fine"}


class Approves:
    def __init__(self) -> None:
        self.tickets: List[Dict[str, Any]] = []

    async def request(self, ticket: Dict[str, Any]) -> None:
        self.tickets.append(ticket)
        ticket["handle"].resolve(approved=True, by="bot")


def test_objects_replace_the_configured_scorer_and_approver(tmp_path: pathlib.Path, llm: FakeServer) -> None:
    # The file names a Groq scorer whose key is not set: replaced, it is never even built.
    path = groq_config(tmp_path, llm.url, 'api_key_env = "MY_SENTINEL_GROQ_KEY"')
    approver = Approves()
    gw = sg.Gateway.from_config(path, scorer=LowScorer(), approver=approver)
    assert (gw.scorer, gw.approver) == ("low", "Approves")
    assert gw.evaluate(TOOL).risk_score == 5 and llm.requests == []

    async def main() -> Any:
        return await gw.aguard(action("TOOL", tool="wire"), lambda: "ran")

    gw = sg.Gateway.from_config({"packs": [{"inline": SCORED_PACK}]}, approver=approver)
    assert asyncio.run(main()) == "ran" and len(approver.tickets) == 1
    configured = sg.GroqScorer(KEY, base_url=llm.url)
    assert sg.Gateway.from_config({}, scorer=configured).scorer_stats() is not None
    for bad in ({"scorer": "groq"}, {"approver": "telnyx"}):
        with pytest.raises(TypeError, match="in the configuration"):
            sg.Gateway.from_config({}, **bad)
    with pytest.raises(TypeError, match="assess"):
        sg.Gateway.from_config({}, scorer=object())


def test_telnyx_approver_from_a_config(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_telnyx import ADMIN, CONNECTION, FROM, TELNYX_VARS, Phone

    for var in TELNYX_VARS:
        monkeypatch.delenv(var, raising=False)
    phone = Phone()
    try:
        (tmp_path / "pin").write_text("4321\n")
        path = write(tmp_path, "voice.toml", f"""\
[approver]
kind = "telnyx"
[approver.telnyx]
api_key_env = "MY_TELNYX_KEY"
pin_file = "pin"
connection_id = "{CONNECTION}"
from_number = "{FROM}"
admin_number = "{ADMIN}"
public_key = "{phone.public_key}"
api_base = "{phone.api.url}/v2"
""")
        with pytest.raises(sg.ConfigError, match="`MY_TELNYX_KEY`") as info:
            sg.Gateway.from_config(path)
        assert info.value.env == "MY_TELNYX_KEY"
        monkeypatch.setenv("MY_TELNYX_KEY", "KEYfromtheenvironment0123")
        gw = sg.Gateway.from_config(path)
        assert gw.approver == "telnyx-voice"
        body = phone.event("call.answered")
        assert gw.handle_telnyx_webhook(phone.sign(body), body) == 200  # its webhooks reach it
        assert gw.handle_telnyx_webhook({}, body) == 401
    finally:
        phone.api.close()


def test_constructor_and_config_build_the_same_gateway() -> None:
    by_arguments = sg.Gateway(packs=["VaultKeeper", SCORED_PACK], escalation_timeout=30, unmatched="deny",
                              on_scorer_error="deny")
    by_config = sg.Gateway.from_config({"packs": ["VaultKeeper", {"inline": SCORED_PACK}],
                                        "gateway": {"escalation_timeout_s": 30, "unmatched": "deny",
                                                    "on_scorer_error": "deny"}})
    assert repr(by_arguments) == repr(by_config)
    for a in (SAFE, RISKY, TOOL, UNCOVERED):
        x, y = by_arguments.evaluate(a).to_dict(), by_config.evaluate(a).to_dict()
        for d in (x, y):
            d.pop("action_id"), d.pop("timings")
        assert x == y
