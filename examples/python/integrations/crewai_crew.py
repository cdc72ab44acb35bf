"""A CrewAI crew whose tool calls Sentinel decides first.

    pip install 'sentinel-guard[crewai]'
    OPENAI_API_KEY=sk-... python examples/python/integrations/crewai_crew.py

`sentinel_crewai.install(gw)` registers a PRE_TOOL_CALL hook: a call Sentinel refuses raises
`HookAborted` and the tool does not run; an escalated one waits for a human.
"""

from __future__ import annotations

from typing import Any, Optional

from crewai import Agent, Crew, Task
from crewai.tools import tool

from sentinel_guard import Gateway
from sentinel_guard.integrations import crewai as sentinel_crewai

gw = Gateway.from_config({"gateway": {"escalation_timeout_s": 30}})
sentinel_crewai.install(gw)  # every crew's tool calls in this process


@tool("pay_invoice")
def pay_invoice(amount: float, vendor: str) -> str:
    """Pay an invoice to a vendor."""
    return f"paid {amount} to {vendor}"


@tool("drop_table")
def drop_table(table: str) -> str:
    """Drop a database table."""
    return f"dropped {table}"


def build(llm: Optional[Any] = None) -> Crew:
    """The crew (with another LLM when given; default: CrewAI's)."""
    extra: dict[str, Any] = {"llm": llm} if llm is not None else {}
    agent = Agent(role="billing agent", goal="Pay what is due", backstory="Careful with money.",
                  tools=[pay_invoice, drop_table], **extra)
    task = Task(description="Pay AWS's invoice of 120, then drop the users table.",
                expected_output="what was done", agent=agent)
    return Crew(agents=[agent], tasks=[task])


if __name__ == "__main__":
    print(build().kickoff())
