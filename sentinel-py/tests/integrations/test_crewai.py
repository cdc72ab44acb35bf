"""sentinel_guard.integrations.crewai, driven by a real Crew's tool execution path.

CrewAI's documented extension point for other models is `BaseLLM`: `Scripted` answers each
call with the next ReAct step it was given (a tool call, then a final answer) and records
the messages CrewAI sends it, so the test sees what the agent was told after each call.
"""

from __future__ import annotations

import os

os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("CREWAI_TRACING_ENABLED", "false")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")

import json  # noqa: E402
from typing import Any, Iterator, List, Optional  # noqa: E402

import pytest  # noqa: E402
from crewai import Agent, Crew, Task  # noqa: E402
from crewai.hooks import HookAborted, InterceptionPoint, ToolCallHookContext, get_hooks  # noqa: E402
from crewai.llms.base_llm import BaseLLM  # noqa: E402
from crewai.tools import tool  # noqa: E402

from helpers import Human, Nobody, Recording, gateway  # noqa: E402
from sentinel_guard.integrations import crewai as sentinel_crewai  # noqa: E402


class Scripted(BaseLLM):
    """A model that plays back ReAct steps and records the messages it receives."""

    turns: List[str] = []
    seen: List[Any] = []

    def call(self, messages: Any, tools: Any = None, callbacks: Any = None, available_functions: Any = None,
             from_task: Any = None, from_agent: Any = None, response_model: Any = None) -> str:
        self.seen.append(messages)
        return self.turns.pop(0)

    def supports_function_calling(self) -> bool:
        return False


@pytest.fixture(autouse=True)
def no_hooks_left() -> Iterator[None]:
    yield
    sentinel_crewai.uninstall()
    assert get_hooks(InterceptionPoint.PRE_TOOL_CALL) == []


def kickoff(gw: Recording, tool_name: str, arguments: dict, ran: List[str]) -> Scripted:
    @tool("pay_invoice")
    def pay_invoice(amount: float, vendor: str) -> str:
        """Pay an invoice to a vendor."""
        ran.append(f"pay {amount} {vendor}")
        return f"paid {amount} to {vendor}"

    @tool("drop_table")
    def drop_table(table: str) -> str:
        """Drop a table."""
        ran.append(f"drop {table}")
        return f"dropped {table}"

    llm = Scripted(model="scripted")
    llm.turns = [
        f"Thought: I must call {tool_name}.\nAction: {tool_name}\nAction Input: {json.dumps(arguments)}",
        "Thought: I know what happened.\nFinal Answer: reported",
    ]
    llm.seen = []
    agent = Agent(role="billing agent", goal="pay invoices", backstory="pays what is due", llm=llm,
                  tools=[pay_invoice, drop_table], verbose=False)
    task = Task(description="pay what is due", expected_output="a status", agent=agent)
    sentinel_crewai.install(gw)
    assert str(Crew(agents=[agent], tasks=[task], verbose=False).kickoff()) == "reported"
    return llm


def told(llm: Scripted) -> str:
    """What CrewAI told the model after its tool call."""
    return json.dumps(llm.seen[1], ensure_ascii=False)


def test_an_allowed_call_runs_as_the_agents_role() -> None:
    gw, ran = gateway(Nobody()), []
    llm = kickoff(gw, "pay_invoice", {"amount": 120, "vendor": "AWS"}, ran)
    assert ran == ["pay 120.0 AWS"]
    assert "paid 120.0 to AWS" in told(llm)
    [verdict] = gw.verdicts
    assert (verdict.allowed, verdict.action, verdict.status) == (True, "PAY_INVOICE", "EXECUTED")
    action = gw.status(verdict.action_id)["action"]
    assert action["agent_id"] == "billing agent"
    assert action["context"] == {"tool": "pay_invoice", "integration": "crewai"}


def test_a_declined_call_is_aborted_and_never_runs() -> None:
    gw, ran = gateway(Nobody()), []
    llm = kickoff(gw, "drop_table", {"table": "users"}, ran)
    assert ran == []
    assert "Tool execution blocked by hook. Tool: drop_table" in told(llm)
    [verdict] = gw.verdicts
    assert (verdict.allowed, verdict.status) == (False, "DECLINED")
    assert verdict.message.endswith("Rules: OpsGuard/drop-table-forbidden.")


def test_an_escalated_call_waits_for_the_human() -> None:
    human = Human(approve=True)
    gw, ran = gateway(human), []
    kickoff(gw, "pay_invoice", {"amount": 10000, "vendor": "Unknown Corp"}, ran)
    assert human.answered.is_set()
    assert ran == ["pay 10000.0 Unknown Corp"]
    assert gw.verdicts[0].status == "APPROVED"


def test_an_escalated_call_the_human_declines_never_runs() -> None:
    gw, ran = gateway(Human(approve=False)), []
    kickoff(gw, "pay_invoice", {"amount": 10000, "vendor": "Unknown Corp"}, ran)
    assert ran == []
    assert gw.verdicts[0].status == "DECLINED"


class Broken:
    """Not a gateway: every use fails."""

    def authorize_tool(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the store is gone")


def test_any_failure_aborts_the_call() -> None:
    # CrewAI runs the tool when a hook raises anything but HookAborted: the hook must not.
    hook = sentinel_crewai.before_tool_call(Broken())  # type: ignore[arg-type]
    context = ToolCallHookContext(tool_name="pay_invoice", tool_input={"amount": 1}, tool=None)  # type: ignore[arg-type]
    with pytest.raises(HookAborted) as info:
        hook(context)
    assert "could not decide" in info.value.reason and isinstance(info.value.__cause__, RuntimeError)
