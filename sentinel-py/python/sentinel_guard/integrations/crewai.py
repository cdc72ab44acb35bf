"""Sentinel for CrewAI (``pip install 'sentinel-guard[crewai]'``).

``install(gateway)`` registers a ``PRE_TOOL_CALL`` hook that decides every tool call of
every crew in the process before it runs (``uninstall`` removes it); ``before_tool_call
(gateway)`` returns the hook itself, for ``crewai.hooks.register_hook`` or scoped hooks::

    from sentinel_guard.integrations import crewai as sentinel_crewai

    sentinel_crewai.install(gw)
    crew.kickoff()

Allowed calls run; a refused one raises ``HookAborted`` with Sentinel's refusal (status,
risk, analysis, rules) as its reason, so CrewAI does not run the tool; an escalated one
waits for a human (the gateway's approver, or whoever resolves the action). CrewAI's
hooks are synchronous: the agent's thread waits, with the GIL released. CrewAI ignores
(fails open on) any other exception a hook raises, so every failure here becomes
``HookAborted``. The agent id is the agent's ``role`` (or ``agent_id=``); the action the
tool's name upper-cased unless ``[mcp.tools.NAME] action`` says otherwise.

Register it after hooks that change ``tool_input``: Sentinel decides on the input it sees.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ._require import require

require("crewai", "crewai", "crewai")

from crewai.hooks import HookAborted, InterceptionPoint, ToolCallHookContext, register_hook, unregister_hook  # noqa: E402

from .._gateway import Gateway  # noqa: E402

__all__ = ["INTEGRATION", "before_tool_call", "install", "uninstall"]

INTEGRATION = "crewai"
"""The ``integration`` recorded in the actions' context."""

Hook = Callable[[ToolCallHookContext], None]


def before_tool_call(gateway: Gateway, *, agent_id: Optional[str] = None) -> Hook:
    """A ``PRE_TOOL_CALL`` hook deciding each call with ``gateway``; raises ``HookAborted``
    unless the call may run. ``agent_id``: default the agent's ``role``."""

    def sentinel(context: ToolCallHookContext) -> None:
        try:
            agent = agent_id or _role(context.agent)
            verdict = gateway.authorize_tool(INTEGRATION, context.tool_name, dict(context.tool_input), agent_id=agent)
        except Exception as e:  # fail closed: CrewAI would ignore the exception and run the tool
            raise HookAborted(
                reason=f"Sentinel could not decide on this call ({type(e).__name__}); the tool was not called.",
                source="sentinel",
            ) from e
        if not verdict.allowed:
            raise HookAborted(reason=verdict.message, source="sentinel")

    return sentinel


_installed: list[Hook] = []


def install(gateway: Gateway, *, agent_id: Optional[str] = None) -> Hook:
    """Registers ``before_tool_call(gateway)`` as a global ``PRE_TOOL_CALL`` hook and returns it."""
    hook = before_tool_call(gateway, agent_id=agent_id)
    register_hook(InterceptionPoint.PRE_TOOL_CALL, hook)
    _installed.append(hook)
    return hook


def uninstall(hook: Optional[Hook] = None) -> None:
    """Removes ``hook`` (default: every hook ``install`` registered)."""
    hooks = [hook] if hook is not None else list(_installed)
    for h in hooks:
        unregister_hook(InterceptionPoint.PRE_TOOL_CALL, h)
        if h in _installed:
            _installed.remove(h)


def _role(agent: Any) -> Optional[str]:
    role = getattr(agent, "role", None)
    return role if isinstance(role, str) and role.strip() else None
