"""An OpenAI Agents SDK agent whose tool calls Sentinel decides first.

    pip install 'sentinel-guard[openai-agents]'
    OPENAI_API_KEY=sk-... python examples/python/integrations/openai_agents_agent.py

The guardrail allows `pay_invoice` to AWS at once, refuses `drop_table` (OpsGuard) with a
message the model reads, and holds a payment to an unknown vendor until a human decides
(nobody is asked in this example: it expires after 30 s and is refused).
"""

from __future__ import annotations

from typing import Any, Optional

from agents import Agent, Model, Runner, function_tool

from sentinel_guard import Gateway
from sentinel_guard.integrations.openai_agents import tool_input_guardrail

# Or Gateway.from_config("sentinel.toml"): the same [mcp] keys as the MCP proxy.
gw = Gateway.from_config({
    "gateway": {"escalation_timeout_s": 30},
    "mcp": {"tools": {"wire_money": {"action": "PAY_INVOICE"}}},  # wire_money is PAY_INVOICE
})
sentinel = tool_input_guardrail(gw)


@function_tool(tool_input_guardrails=[sentinel])
def pay_invoice(amount: float, vendor: str) -> str:
    """Pay an invoice to a vendor."""
    return f"paid {amount} to {vendor}"


@function_tool(tool_input_guardrails=[sentinel])
def drop_table(table: str) -> str:
    """Drop a database table."""
    return f"dropped {table}"


def build(model: Optional[Model] = None) -> Agent[Any]:
    """The agent (with another `Model` when given; default: the SDK's OpenAI model)."""
    extra: dict[str, Any] = {"model": model} if model is not None else {}
    return Agent(name="billing-agent", instructions="Pay what is due; keep the database tidy.",
                 tools=[pay_invoice, drop_table], **extra)


if __name__ == "__main__":
    result = Runner.run_sync(build(), "Pay AWS's invoice of 120, then drop the users table.")
    print(result.final_output)
