"""Guarding a LangChain-style tool with Sentinel, without importing LangChain.

A LangChain tool is a plain function with a name, a description and typed arguments (what
`@tool` wraps). Decorate the function with `gw.guarded(...)` *before* handing it to the
framework: the agent calls it as usual, and Sentinel decides first. The payload is built
from the call's arguments, so packs can match on `payload.amount`, `payload.vendor`...

    python examples/python/langchain_tool.py
"""

from __future__ import annotations

from typing import Any, Callable, Dict

from sentinel_guard import Denied, Gateway, SentinelError

gw = Gateway(escalation_timeout=0.5)  # nobody approves in this example: escalations expire


@gw.guarded("PAY_INVOICE", agent_id="session_lc_01", reasoning="the agent decided to pay")
def pay_invoice(amount: float, vendor: str) -> str:
    """Pay an invoice to a vendor."""
    return f"paid {amount} to {vendor}"


class Tool:
    """The shape of a LangChain tool: name, description, and `invoke(input: dict)`."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.name = func.__name__
        self.description = func.__doc__ or ""

    def invoke(self, tool_input: Dict[str, Any]) -> str:
        try:
            return str(self.func(**tool_input))
        except Denied as e:  # tell the model, as a tool error message would
            return f"refused by Sentinel: {e.decision.analysis if e.decision else e}"
        except SentinelError as e:
            return f"not run ({e.code}): {e}"


if __name__ == "__main__":
    tool = Tool(pay_invoice)  # with LangChain: StructuredTool.from_function(pay_invoice)
    print(f"tool {tool.name!r}: {tool.description}")
    for call in ({"amount": 120, "vendor": "AWS"}, {"amount": 10000, "vendor": "Unknown Corp"}, {"amount": -5, "vendor": "AWS"}):
        print(f"  invoke({call}) -> {tool.invoke(call)}")
