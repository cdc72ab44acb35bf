"""Gateway.tool_action / authorize_tool / aauthorize_tool: framework tool calls as the MCP
proxy maps them (the core's ToolMapping, configured by [mcp]), and the integrations'
modules without their frameworks."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
from typing import Any, Dict, List

import pytest

import sentinel_guard as sg

CONFIG: Dict[str, Any] = {
    "gateway": {"escalation_timeout_s": 5},
    "mcp": {"agent_id": "desk", "tools": {"wire_money": {"action": "PAY_INVOICE"}}},
}


class Approving:
    def __init__(self, approve: bool = True) -> None:
        self.approve = approve
        self.tickets: List[Dict[str, Any]] = []

    def request(self, ticket: Dict[str, Any]) -> None:
        self.tickets.append(ticket)
        ticket["handle"].resolve(approved=self.approve, by="alice")


class Nobody:
    def __init__(self) -> None:
        self.tickets: List[Dict[str, Any]] = []

    def request(self, ticket: Dict[str, Any]) -> None:
        self.tickets.append(ticket)


def test_tool_calls_map_like_the_mcp_proxy() -> None:
    gw = sg.Gateway.from_config(CONFIG)
    a = gw.tool_action("langchain", "pay_invoice", {"amount": 120, "vendor": "AWS"}, reasoning="due today")
    assert a["action"] == "PAY_INVOICE" and a["agent_id"] == "desk"
    assert a["payload"] == {"amount": 120, "vendor": "AWS"} and a["reasoning"] == "due today"
    assert a["context"] == {"tool": "pay_invoice", "integration": "langchain"}
    assert gw.tool_action("x", "wire_money", None)["action"] == "PAY_INVOICE"  # [mcp.tools.wire_money]
    assert gw.tool_action("x", "wire_money", "", agent_id="planner")["agent_id"] == "planner"
    assert gw.tool_action("x", "t", '{"n": 1}')["payload"] == {"n": 1}  # JSON text
    assert sg.Gateway().tool_action("x", "t")["agent_id"] == "mcp-client"  # the default


def test_calls_that_cannot_be_actions_raise_naming_the_tool() -> None:
    gw = sg.Gateway()
    with pytest.raises(sg.ActionTypeError, match=r"^the arguments of tool `t` must be an object, found an array$"):
        gw.tool_action("x", "t", [1])
    with pytest.raises(sg.InvalidActionError, match=r"duplicate key `amount`"):
        gw.tool_action("x", "t", '{"amount": 1, "amount": 50000}')
    with pytest.raises(sg.ActionTypeError, match=r"tool `t`: field `arguments.when`"):
        gw.tool_action("x", "t", {"when": object()})
    with pytest.raises(sg.InvalidActionError) as info:
        gw.tool_action("x", "", {})
    assert info.value.code == "invalid_action" and "tool ``" in str(info.value)


def test_an_allowed_call_is_claimed_once() -> None:
    gw = sg.Gateway.from_config(CONFIG)
    v = gw.authorize_tool("test", "pay_invoice", {"amount": 120, "vendor": "AWS"})
    assert (v.allowed, v.tool, v.action, v.status, v.message, v.error) == (True, "pay_invoice", "PAY_INVOICE", "EXECUTED", "", None)
    assert v.decision is not None and v.decision.auto_approved
    record = gw.status(v.action_id or "")
    assert record["executed_at"] and record["action"]["context"]["integration"] == "test"


def test_a_declined_call_is_refused_in_the_mcp_proxys_words() -> None:
    gw = sg.Gateway.from_config(CONFIG)
    v = gw.authorize_tool("test", "drop_table", {"table": "users"})
    assert (v.allowed, v.status) == (False, "DECLINED")
    assert v.message == (
        f"Sentinel declined: the call of tool `drop_table` (action DROP_TABLE, {v.action_id}) was not made. "
        "Status: DECLINED. Risk: 100. Analysis: Dropping table users is never allowed for agents. "
        "Rules: OpsGuard/drop-table-forbidden."
    )
    assert isinstance(v.error, sg.Denied) and v.error.action_id == v.action_id


def test_escalated_calls_wait_for_the_human() -> None:
    approving = Approving()
    gw = sg.Gateway.from_config(CONFIG, approver=approving)
    v = gw.authorize_tool("test", "wire_money", {"amount": 10000, "vendor": "Unknown Corp"})
    assert (v.allowed, v.action, v.status) == (True, "PAY_INVOICE", "APPROVED")
    assert len(approving.tickets) == 1
    gw = sg.Gateway.from_config(CONFIG, approver=Approving(approve=False))
    v = gw.authorize_tool("test", "wire_money", {"amount": 10000, "vendor": "Unknown Corp"})
    assert (v.allowed, v.status) == (False, "DECLINED") and v.message.endswith("Risk: 60. Analysis: Declined by alice via python. Payment of 10000 to Unknown Corp, a vendor outside the trusted list. Rules: VaultKeeper/untrusted-vendor-over-1000.")


def test_an_unanswered_escalation_expires() -> None:
    gw = sg.Gateway.from_config(dict(CONFIG, gateway={"escalation_timeout_s": 0.2}), approver=Nobody())
    v = gw.authorize_tool("test", "pay_invoice", {"amount": 10000, "vendor": "Unknown Corp"})
    assert (v.allowed, v.status) == (False, "EXPIRED")
    assert v.message.startswith("Sentinel was not approved in time: the call of tool `pay_invoice`")
    assert isinstance(v.error, sg.ApprovalTimeout)


def test_a_malformed_call_is_refused_not_raised() -> None:
    v = sg.Gateway().authorize_tool("test", "pay_invoice", '{"amount": 1, "amount": 50000}')
    assert (v.allowed, v.status, v.action_id, v.decision) == (False, None, None, None)
    assert v.message.startswith("Sentinel refused the call of tool `pay_invoice`: the arguments of tool `pay_invoice` are not usable: duplicate key `amount`")
    assert v.message.endswith("The tool was not called.")
    assert isinstance(v.error, sg.InvalidActionError)


def test_an_approval_given_in_the_framework_is_recorded_not_asked_again() -> None:
    gw = sg.Gateway.from_config(CONFIG, approver=Nobody())
    v = gw.authorize_tool("openai_agents", "wire_money", {"amount": 10000, "vendor": "Unknown Corp"}, approved_by="carol")
    assert (v.allowed, v.status) == (True, "APPROVED")
    approval = gw.status(v.action_id or "")["approval"]
    assert (approval["by"], approval["channel"]) == ("carol", "openai_agents")
    # Policy's decline is not a human's to overrule.
    v = gw.authorize_tool("openai_agents", "drop_table", {"table": "users"}, approved_by="carol")
    assert (v.allowed, v.status) == (False, "DECLINED")


def test_aauthorize_tool_waits_without_blocking_the_loop() -> None:
    nobody = Nobody()
    gw = sg.Gateway.from_config(CONFIG, approver=nobody)

    async def main() -> None:
        pending = asyncio.ensure_future(gw.aauthorize_tool("test", "pay_invoice", {"amount": 10000, "vendor": "Unknown Corp"}))
        ticks = 0
        while not pending.done():
            await asyncio.sleep(0.01)
            ticks += 1
            if ticks == 5:  # the loop runs while the call waits: an operator decides
                gw.resolve(nobody.tickets[0]["action_id"], approved=True, by="bob")
        v = pending.result()
        assert (v.allowed, v.status) == (True, "APPROVED") and ticks >= 5
        refused = await gw.aauthorize_tool("test", "t", [1])
        assert not refused.allowed and isinstance(refused.error, sg.ActionTypeError)

    asyncio.run(main())


@pytest.mark.parametrize(("module", "extra", "framework"), [
    ("openai_agents", "openai-agents", "agents"), ("langchain", "langchain", "langchain"), ("crewai", "crewai", "crewai"),
])
def test_integrations_name_their_extra_without_their_framework(module: str, extra: str, framework: str) -> None:
    if importlib.util.find_spec(framework) is not None:
        pytest.skip(f"{framework} is installed here (tests/integrations/run.sh tests the module)")
    with pytest.raises(ImportError, match=rf"pip install 'sentinel-guard\[{extra}\]'"):
        importlib.import_module(f"sentinel_guard.integrations.{module}")
