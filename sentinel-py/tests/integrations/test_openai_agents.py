"""sentinel_guard.integrations.openai_agents, driven by the SDK's own Runner.

The SDK has no public fake model: `Scripted` implements its `Model` interface (the SDK's
documented extension point for other model providers), answering each turn with the tool
calls or the message it was given and recording what the SDK sends back (the tool outputs).
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator, Dict, List, Optional

from agents import Agent, ModelResponse, RunConfig, Runner, Usage, function_tool, set_tracing_disabled
from agents.models.interface import Model
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

import sentinel_guard as sg
from helpers import Human, Nobody, aio, gateway
from sentinel_guard.integrations.openai_agents import needs_approval, tool_input_guardrail

set_tracing_disabled(True)


class Scripted(Model):
    """A model that plays back `turns` (lists of output items) and records its inputs."""

    def __init__(self, *turns: List[Any]) -> None:
        self.turns = list(turns)
        self.inputs: List[Any] = []

    async def get_response(self, system_instructions: Optional[str], input: Any, model_settings: Any, tools: Any,
                           output_schema: Any, handoffs: Any, tracing: Any, *, previous_response_id: Optional[str],
                           conversation_id: Optional[str], prompt: Any) -> ModelResponse:
        self.inputs.append(input)
        return ModelResponse(output=self.turns.pop(0), usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("not streamed in these tests")

    def tool_outputs(self) -> Dict[str, str]:
        """The tool outputs the SDK sent back to the model, by call id."""
        outputs: Dict[str, str] = {}
        for turn in self.inputs:
            for item in turn if isinstance(turn, list) else []:
                if isinstance(item, dict) and item.get("type") == "function_call_output":
                    outputs[item["call_id"]] = str(item["output"])
        return outputs


def call(name: str, arguments: Any, call_id: str) -> ResponseFunctionToolCall:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ResponseFunctionToolCall(type="function_call", name=name, arguments=text, call_id=call_id,
                                    id=f"fc_{call_id}", status="completed")


def say(text: str) -> ResponseOutputMessage:
    return ResponseOutputMessage(id="msg_done", type="message", role="assistant", status="completed",
                                 content=[ResponseOutputText(type="output_text", text=text, annotations=[])])


def agent_with(gw: sg.Gateway, model: Model, ran: List[str], approval: bool = False) -> Agent[Any]:
    guard = tool_input_guardrail(gw)

    def pay_invoice(amount: float, vendor: str) -> str:
        """Pay an invoice."""
        ran.append(f"pay {amount} {vendor}")
        return f"paid {amount} to {vendor}"

    def wire_money(amount: float, vendor: str) -> str:
        """Wire money to a vendor."""
        ran.append(f"wire {amount} {vendor}")
        return f"wired {amount} to {vendor}"

    def drop_table(table: str) -> str:
        """Drop a table."""
        ran.append(f"drop {table}")
        return f"dropped {table}"

    tools = [
        function_tool(f, tool_input_guardrails=[guard],
                      needs_approval=needs_approval(gw, f.__name__) if approval else False)
        for f in (pay_invoice, wire_money, drop_table)
    ]
    return Agent(name="billing-agent", instructions="pay the invoices", model=model, tools=tools)


def sentinel_info(result: Any) -> List[Dict[str, Any]]:
    return [r.output.output_info for r in result.tool_input_guardrail_results]


async def run(agent: Agent[Any], text: str = "pay what is due") -> Any:
    return await Runner.run(agent, text, run_config=RunConfig(tracing_disabled=True))


@aio
async def test_an_allowed_call_runs_and_is_recorded_as_the_agents() -> None:
    gw, ran = gateway(Nobody()), []
    model = Scripted([call("pay_invoice", {"amount": 120, "vendor": "AWS"}, "c1")], [say("done")])
    result = await run(agent_with(gw, model, ran))
    assert ran == ["pay 120.0 AWS"]
    assert model.tool_outputs() == {"c1": "paid 120.0 to AWS"}
    assert result.final_output == "done"
    [info] = sentinel_info(result)
    assert (info["action"], info["status"]) == ("PAY_INVOICE", "EXECUTED")
    record = gw.status(info["action_id"])
    assert record["action"]["agent_id"] == "billing-agent"
    assert record["action"]["payload"] == {"amount": 120, "vendor": "AWS"}
    assert record["action"]["context"] == {"tool": "pay_invoice", "integration": "openai_agents"}
    assert record["state"] == "EXECUTED" and record["executed_at"]


@aio
async def test_a_declined_call_never_runs_and_the_model_reads_why() -> None:
    gw, ran = gateway(Nobody()), []
    model = Scripted([call("drop_table", {"table": "users"}, "c1")], [say("ok")])
    result = await run(agent_with(gw, model, ran))
    assert ran == []
    text = model.tool_outputs()["c1"]
    assert text.startswith("Sentinel declined: the call of tool `drop_table` (action DROP_TABLE, ")
    assert "Status: DECLINED. Risk: 100. Analysis: Dropping table users is never allowed" in text
    assert text.endswith("Rules: OpsGuard/drop-table-forbidden.")
    [info] = sentinel_info(result)
    assert info["status"] == "DECLINED" and info["rules"] == ["OpsGuard/drop-table-forbidden"]


@aio
async def test_an_escalated_call_waits_for_the_human_and_runs_once_approved() -> None:
    human = Human(approve=True)
    gw, ran = gateway(human), []
    # wire_money is PAY_INVOICE by [mcp.tools.wire_money]: VaultKeeper escalates an unknown vendor.
    model = Scripted([call("wire_money", {"amount": 10000, "vendor": "Unknown Corp"}, "c1")], [say("wired")])
    result = await run(agent_with(gw, model, ran))
    assert human.answered.is_set() and len(human.tickets) == 1
    assert human.tickets[0]["action"]["action"] == "PAY_INVOICE"
    assert ran == ["wire 10000.0 Unknown Corp"]
    [info] = sentinel_info(result)
    assert info["status"] == "APPROVED"
    assert gw.status(info["action_id"])["approval"]["by"] == "alice"


@aio
async def test_an_escalated_call_the_human_declines_never_runs() -> None:
    gw, ran = gateway(Human(approve=False)), []
    model = Scripted([call("pay_invoice", {"amount": 10000, "vendor": "Unknown Corp"}, "c1")], [say("ok")])
    await run(agent_with(gw, model, ran))
    assert ran == []
    text = model.tool_outputs()["c1"]
    assert text.startswith("Sentinel declined: the call of tool `pay_invoice` (action PAY_INVOICE")
    assert "Status: DECLINED. Risk: 60." in text


@aio
async def test_an_unanswered_escalation_expires_and_never_runs() -> None:
    gw, ran = gateway(Nobody(), timeout=0.3), []
    model = Scripted([call("pay_invoice", {"amount": 10000, "vendor": "Unknown Corp"}, "c1")], [say("ok")])
    await run(agent_with(gw, model, ran))
    assert ran == []
    text = model.tool_outputs()["c1"]
    assert text.startswith("Sentinel was not approved in time: the call of tool `pay_invoice`")
    assert "Status: EXPIRED." in text


@aio
async def test_arguments_the_gateway_cannot_read_exactly_fail_closed() -> None:
    gw, ran = gateway(Nobody()), []
    # Python's json keeps the last `amount` (50000): Sentinel refuses rather than decide on one.
    model = Scripted([call("pay_invoice", '{"amount": 120, "amount": 50000, "vendor": "AWS"}', "c1")], [say("ok")])
    await run(agent_with(gw, model, ran))
    assert ran == []
    text = model.tool_outputs()["c1"]
    assert text.startswith("Sentinel refused the call of tool `pay_invoice`: the arguments of tool `pay_invoice` are not usable: duplicate key `amount`")
    assert text.endswith("The tool was not called.")


@aio
async def test_needs_approval_interrupts_what_sentinel_would_not_auto_approve() -> None:
    gw, ran = gateway(Nobody()), []
    # Floats as the tools declare them: the SDK asks a policy only about arguments its
    # validation leaves unchanged (an int for a float parameter always needs manual approval).
    model = Scripted(
        [call("pay_invoice", {"amount": 120.0, "vendor": "AWS"}, "c1"),
         call("wire_money", {"amount": 10000.0, "vendor": "Unknown Corp"}, "c2"),
         call("drop_table", {"table": "users"}, "c3")],
        [say("done")],
    )
    agent = agent_with(gw, model, ran, approval=True)
    first = await run(agent)
    # The safe call ran; the two Sentinel would not auto-approve wait for the application's
    # approval, and Sentinel recorded nothing about them yet (needs_approval only evaluates).
    assert ran == ["pay 120.0 AWS"]
    assert sorted(i.raw_item.call_id for i in first.interruptions) == ["c2", "c3"]
    assert [i["action"] for i in sentinel_info(first)] == ["PAY_INVOICE"]
    state = first.to_state()
    for item in first.interruptions:
        state.approve(item)
    second = await Runner.run(agent, state, run_config=RunConfig(tracing_disabled=True))
    # The approval given in the SDK is recorded in Sentinel; policy's decline still holds.
    assert ran == ["pay 120.0 AWS", "wire 10000.0 Unknown Corp"]
    del second  # its guardrail results hold the first run's only: the gateway's verdicts say
    verdicts = {v.tool: v for v in gw.verdicts}
    wired = gw.status(verdicts["wire_money"].action_id or "")
    assert wired["state"] == "APPROVED" and wired["executed_at"]  # approved, then run once
    assert (wired["approval"]["by"], wired["approval"]["channel"]) == ("openai-agents", "openai_agents")
    assert verdicts["drop_table"].status == "DECLINED"
    assert model.tool_outputs()["c3"].startswith("Sentinel declined: the call of tool `drop_table`")


class Broken:
    """Not a working gateway: every use fails."""

    async def aauthorize_tool(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the store is gone")


@aio
async def test_any_failure_rejects_the_call() -> None:
    ran: List[str] = []
    model = Scripted([call("pay_invoice", {"amount": 120, "vendor": "AWS"}, "c1")], [say("ok")])
    await run(agent_with(Broken(), model, ran))  # type: ignore[arg-type]
    assert ran == []
    assert model.tool_outputs()["c1"] == "Sentinel could not decide on this call (RuntimeError); the tool was not called."
