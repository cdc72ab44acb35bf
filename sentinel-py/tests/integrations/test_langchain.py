"""sentinel_guard.integrations.langchain, driven by `create_agent`'s own loop.

The model is langchain_core's `FakeMessagesListChatModel` (it plays back the AI messages it
is given, tool calls included); `create_agent` binds tools to its model, which the fake
does not implement, so `ToolCalling` adds a `bind_tools` that keeps the fake as it is.
"""

from __future__ import annotations

import threading
import time
from typing import Any, List, Optional, Sequence

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, tool

import sentinel_guard as sg
from helpers import Human, Nobody, aio, gateway
from sentinel_guard.integrations.langchain import SentinelMiddleware


class ToolCalling(FakeMessagesListChatModel):
    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> "ToolCalling":
        return self


def tools(ran: List[str]) -> List[BaseTool]:
    @tool
    def pay_invoice(amount: float, vendor: str) -> str:
        """Pay an invoice to a vendor."""
        ran.append(f"pay {amount} {vendor}")
        return f"paid {amount} to {vendor}"

    @tool
    def drop_table(table: str) -> str:
        """Drop a table."""
        ran.append(f"drop {table}")
        return f"dropped {table}"

    return [pay_invoice, drop_table]


def agent(gw: sg.Gateway, ran: List[str], name: str, args: dict, text: str = "", agent_id: Optional[str] = None) -> Any:
    model = ToolCalling(responses=[
        AIMessage(content=text, tool_calls=[{"name": name, "args": args, "id": "call_1", "type": "tool_call"}]),
        AIMessage(content="finished"),
    ])
    return create_agent(model, tools=tools(ran), middleware=[SentinelMiddleware(gw, agent_id=agent_id)])


def tool_message(result: Any) -> ToolMessage:
    [message] = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    return message


def test_an_allowed_call_runs_with_the_models_reasoning() -> None:
    gw, ran = gateway(Nobody()), []
    a = agent(gw, ran, "pay_invoice", {"amount": 120, "vendor": "AWS"}, text="The AWS invoice is due today.")
    result = a.invoke({"messages": [HumanMessage("pay the AWS invoice")]})
    assert ran == ["pay 120.0 AWS"]
    message = tool_message(result)
    assert (message.content, message.status) == ("paid 120.0 to AWS", "success")
    assert result["messages"][-1].content == "finished"
    [verdict] = gw.verdicts
    record = gw.status(verdict.action_id)
    assert record["action"]["agent_id"] == "configured-agent"  # [mcp] agent_id
    assert record["action"]["reasoning"] == "The AWS invoice is due today."
    assert record["action"]["context"] == {"tool": "pay_invoice", "integration": "langchain"}
    assert record["state"] == "EXECUTED"


def test_a_declined_call_becomes_an_error_tool_message() -> None:
    gw, ran = gateway(Nobody()), []
    a = agent(gw, ran, "drop_table", {"table": "users"}, agent_id="ops-agent")
    message = tool_message(a.invoke({"messages": [HumanMessage("clean up")]}))
    assert ran == []
    assert message.status == "error" and message.tool_call_id == "call_1"
    assert str(message.content).startswith("Sentinel declined: the call of tool `drop_table` (action DROP_TABLE, ")
    assert str(message.content).endswith("Status: DECLINED. Risk: 100. Analysis: Dropping table users is never allowed for agents. Rules: OpsGuard/drop-table-forbidden.")
    sentinel = message.artifact["sentinel"]
    assert (sentinel["status"], sentinel["rules"]) == ("DECLINED", ["OpsGuard/drop-table-forbidden"])
    assert gw.status(sentinel["action_id"])["action"]["agent_id"] == "ops-agent"


@aio
async def test_an_escalated_call_waits_in_ainvoke_and_runs_once_approved() -> None:
    human = Human(approve=True)
    gw, ran = gateway(human), []
    a = agent(gw, ran, "pay_invoice", {"amount": 10000, "vendor": "Unknown Corp"})
    result = await a.ainvoke({"messages": [HumanMessage("pay it")]})
    assert human.answered.is_set()
    assert ran == ["pay 10000.0 Unknown Corp"]
    assert tool_message(result).content == "paid 10000.0 to Unknown Corp"


def test_an_escalated_call_the_operator_declines_through_resolve_never_runs() -> None:
    nobody = Nobody()
    gw, ran = gateway(nobody), []
    a = agent(gw, ran, "pay_invoice", {"amount": 10000, "vendor": "Unknown Corp"})

    def operator() -> None:
        deadline = time.monotonic() + 5
        while not nobody.tickets and time.monotonic() < deadline:
            time.sleep(0.01)
        gw.resolve(nobody.tickets[0]["action_id"], approved=False, by="bob", reason="not our vendor")

    t = threading.Thread(target=operator)
    t.start()
    message = tool_message(a.invoke({"messages": [HumanMessage("pay it")]}))
    t.join()
    assert ran == []
    assert message.status == "error"
    assert "Status: DECLINED. Risk: 60." in str(message.content)


class Broken:
    """Not a working gateway: every use fails."""

    def authorize_tool(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the store is gone")

    async def aauthorize_tool(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the store is gone")


@aio
async def test_any_failure_refuses_the_call_in_invoke_and_ainvoke() -> None:
    ran: List[str] = []
    for asynchronous in (False, True):
        a = agent(Broken(), ran, "pay_invoice", {"amount": 120, "vendor": "AWS"})  # type: ignore[arg-type]
        request = {"messages": [HumanMessage("pay it")]}
        result = await a.ainvoke(request) if asynchronous else a.invoke(request)
        message = tool_message(result)
        assert message.status == "error"
        assert message.content == "Sentinel could not decide on this call (RuntimeError); the tool was not called."
    assert ran == []
