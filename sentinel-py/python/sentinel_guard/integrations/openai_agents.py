"""Sentinel for the OpenAI Agents SDK (``pip install 'sentinel-guard[openai-agents]'``).

``tool_input_guardrail(gateway)`` guards every call of a function tool::

    from agents import function_tool
    from sentinel_guard.integrations.openai_agents import tool_input_guardrail

    sentinel = tool_input_guardrail(gw)

    @function_tool(tool_input_guardrails=[sentinel])
    def pay_invoice(amount: float, vendor: str) -> str: ...

Allowed calls run; declined ones are answered with Sentinel's refusal (status, risk,
analysis, rules) through ``reject_content``, so the model reads why; escalated ones wait for
a human (the gateway's approver, or whoever resolves the action). Any failure rejects the
call. The action is the tool's name upper-cased unless ``[mcp.tools.NAME] action`` says
otherwise; the agent id is the agent's ``name`` (or ``agent_id=``).

``needs_approval(gateway, "pay_invoice")`` plugs Sentinel into the SDK's own approval flow
(``@function_tool(needs_approval=...)``): the run is interrupted for the calls Sentinel
would not auto-approve; when the application approves one (``RunState.approve``), the
guardrail records that approval in Sentinel instead of asking again, and a call policy
declines stays declined.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional

from ._require import require

require("agents", "openai-agents", "openai_agents")

from agents import (  # noqa: E402
    RunContextWrapper,
    ToolGuardrailFunctionOutput,
    ToolInputGuardrail,
    ToolInputGuardrailData,
)

from .._gateway import Gateway  # noqa: E402
from .._native import ToolVerdict  # noqa: E402

__all__ = ["INTEGRATION", "needs_approval", "tool_input_guardrail"]

INTEGRATION = "openai_agents"
"""The ``integration`` recorded in the actions' context."""


def tool_input_guardrail(
    gateway: Gateway,
    *,
    agent_id: Optional[str] = None,
    approved_by: str = "openai-agents",
    name: str = "sentinel",
) -> ToolInputGuardrail[Any]:
    """A tool input guardrail deciding each call with ``gateway``.

    ``agent_id``: the agent id of the actions (default: the agent's ``name``).
    ``approved_by``: who a ``RunState.approve`` of the SDK's approval flow is recorded as.
    """

    async def sentinel(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        context = data.context
        try:
            approved = context.is_tool_approved(context.tool_name, context.tool_call_id)
            verdict = await gateway.aauthorize_tool(
                INTEGRATION,
                context.tool_name,
                context.tool_arguments,
                agent_id=agent_id or data.agent.name,
                approved_by=approved_by if approved is True else None,
            )
        except Exception as e:  # fail closed: the tool does not run
            return ToolGuardrailFunctionOutput.reject_content(
                f"Sentinel could not decide on this call ({type(e).__name__}); the tool was not called.",
                output_info={"error": repr(e)},
            )
        if verdict.allowed:
            return ToolGuardrailFunctionOutput.allow(output_info=_info(verdict))
        return ToolGuardrailFunctionOutput.reject_content(verdict.message, output_info=_info(verdict))

    return ToolInputGuardrail(guardrail_function=sentinel, name=name)


def needs_approval(
    gateway: Gateway, tool: str, *, agent_id: Optional[str] = None
) -> Callable[[RunContextWrapper[Any], Dict[str, Any], str], Awaitable[bool]]:
    """A ``needs_approval`` policy for the function tool named ``tool``: true when Sentinel
    would not auto-approve the call (it would escalate or decline it), or cannot tell.

    Use it with ``tool_input_guardrail``, which makes the decision that counts when the call
    runs. ``agent_id``: as the guardrail's (default: ``[mcp] agent_id`` of the
    configuration; the SDK does not pass the agent here).
    """

    async def sentinel_needs_approval(context: RunContextWrapper[Any], arguments: Dict[str, Any], call_id: str) -> bool:
        try:
            action = gateway.tool_action(INTEGRATION, tool, arguments, agent_id=agent_id)
            decision = await gateway.aevaluate(action)
        except Exception:  # cannot tell: a human must look
            return True
        return not decision.auto_approved

    return sentinel_needs_approval


def _info(verdict: ToolVerdict) -> Dict[str, Any]:
    """What the guardrail reports in ``output_info`` (kept in the run's guardrail results)."""
    return {
        "tool": verdict.tool,
        "action": verdict.action,
        "action_id": verdict.action_id,
        "status": verdict.status,
        "risk_score": verdict.decision.risk_score if verdict.decision else None,
        "rules": verdict.decision.rules if verdict.decision else [],
    }
