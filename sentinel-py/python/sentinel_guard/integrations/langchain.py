"""Sentinel for LangChain agents (``pip install 'sentinel-guard[langchain]'``).

``SentinelMiddleware(gateway)`` guards every tool call of an agent made with
``langchain.agents.create_agent``::

    from langchain.agents import create_agent
    from sentinel_guard.integrations.langchain import SentinelMiddleware

    agent = create_agent(model, tools=[pay_invoice], middleware=[SentinelMiddleware(gw)])

Allowed calls run; refused ones become a ``ToolMessage`` with ``status="error"`` holding
Sentinel's refusal (status, risk, analysis, rules), so the model reads why; escalated ones
wait for a human (the gateway's approver, or whoever resolves the action) — in a thread for
``invoke``, without blocking the event loop for ``ainvoke``. Any failure refuses the call.
The action is the tool's name upper-cased unless ``[mcp.tools.NAME] action`` says
otherwise; the reasoning is the text the model wrote with its tool calls.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional, Union

from ._require import require

require("langchain", "langchain", "langchain")

from langchain.agents.middleware import AgentMiddleware  # noqa: E402
from langchain.agents.middleware.types import ToolCallRequest  # noqa: E402
from langchain_core.messages import AIMessage, ToolMessage  # noqa: E402
from langgraph.types import Command  # noqa: E402

from .._gateway import Gateway  # noqa: E402
from .._native import ToolVerdict  # noqa: E402

__all__ = ["INTEGRATION", "SentinelMiddleware"]

INTEGRATION = "langchain"
"""The ``integration`` recorded in the actions' context."""

_Result = Union[ToolMessage, Command[Any]]


class SentinelMiddleware(AgentMiddleware):
    """An agent middleware deciding each tool call with ``gateway`` before it runs.

    ``agent_id``: the agent id of the actions (default: ``[mcp] agent_id`` of the
    configuration, else ``mcp-client``).
    """

    def __init__(self, gateway: Gateway, *, agent_id: Optional[str] = None) -> None:
        super().__init__()
        self.gateway = gateway
        self.agent_id = agent_id

    def wrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], _Result]) -> _Result:
        """Runs the tool only when Sentinel allows the call (waits for a human if needed)."""
        try:
            call = request.tool_call
            verdict = self.gateway.authorize_tool(
                INTEGRATION, call["name"], call.get("args"), reasoning=_reasoning(request), agent_id=self.agent_id
            )
        except Exception as e:  # fail closed: the tool does not run
            return _failed(request, e)
        if not verdict.allowed:
            return _refused(request, verdict)
        return handler(request)

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[_Result]]
    ) -> _Result:
        """``wrap_tool_call`` for ``ainvoke``/``astream``: waits without blocking the loop."""
        try:
            call = request.tool_call
            verdict = await self.gateway.aauthorize_tool(
                INTEGRATION, call["name"], call.get("args"), reasoning=_reasoning(request), agent_id=self.agent_id
            )
        except Exception as e:  # fail closed: the tool does not run
            return _failed(request, e)
        if not verdict.allowed:
            return _refused(request, verdict)
        return await handler(request)


def _reasoning(request: ToolCallRequest) -> Optional[str]:
    """The text of the model's message that made the call, when it wrote any."""
    state = request.state
    messages = state.get("messages") if isinstance(state, dict) else getattr(state, "messages", None)
    for message in reversed(messages or []):
        if isinstance(message, AIMessage) and any(c.get("id") == request.tool_call.get("id") for c in message.tool_calls):
            text = message.text
            return text if text.strip() else None
    return None


def _refused(request: ToolCallRequest, verdict: ToolVerdict) -> ToolMessage:
    artifact: Dict[str, Any] = {
        "action": verdict.action,
        "action_id": verdict.action_id,
        "status": verdict.status,
        "risk_score": verdict.decision.risk_score if verdict.decision else None,
        "analysis": verdict.decision.analysis if verdict.decision else None,
        "rules": verdict.decision.rules if verdict.decision else [],
    }
    return ToolMessage(
        content=verdict.message,
        tool_call_id=request.tool_call["id"] or "",
        name=request.tool_call["name"],
        status="error",
        artifact={"sentinel": artifact},
    )


def _failed(request: ToolCallRequest, error: Exception) -> ToolMessage:
    call: Any = getattr(request, "tool_call", None) or {}
    return ToolMessage(
        content=f"Sentinel could not decide on this call ({type(error).__name__}); the tool was not called.",
        tool_call_id=call.get("id") or "",
        name=call.get("name"),
        status="error",
    )
