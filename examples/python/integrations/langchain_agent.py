"""A LangChain agent (`create_agent`) whose tool calls Sentinel decides first.

    pip install 'sentinel-guard[langchain]' langchain-openai
    OPENAI_API_KEY=sk-... python examples/python/integrations/langchain_agent.py

Allowed calls run; a refused one comes back to the model as a `ToolMessage` with
`status="error"` naming the status, the analysis and the rules; an escalated one waits
for a human (the gateway's approver, or `gw.resolve(...)` from another thread).
"""

from __future__ import annotations

from typing import Any, Union

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import tool

from sentinel_guard import Gateway
from sentinel_guard.integrations.langchain import SentinelMiddleware

gw = Gateway.from_config({"gateway": {"escalation_timeout_s": 30}, "mcp": {"agent_id": "billing-agent"}})


@tool
def pay_invoice(amount: float, vendor: str) -> str:
    """Pay an invoice to a vendor."""
    return f"paid {amount} to {vendor}"


@tool
def drop_table(table: str) -> str:
    """Drop a database table."""
    return f"dropped {table}"


def build(model: Union[str, BaseChatModel] = "openai:gpt-4.1-mini") -> Any:
    """The agent, every tool call guarded by Sentinel."""
    return create_agent(model, tools=[pay_invoice, drop_table], middleware=[SentinelMiddleware(gw)])


if __name__ == "__main__":
    result = build().invoke({"messages": [{"role": "user", "content": "Pay AWS 120, then drop the users table."}]})
    for message in result["messages"]:
        message.pretty_print()
