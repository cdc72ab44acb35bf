"""Shared helpers of the framework integration tests (run by run.sh in their own venvs)."""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any, Awaitable, Callable, Dict, List, Optional

import sentinel_guard as sg

# The tool `wire_money` is the action PAY_INVOICE, as `[mcp.tools.wire_money]` says for the MCP
# proxy; the agent id comes from the framework (or `[mcp] agent_id` when it has none).
CONFIG: Dict[str, Any] = {
    "gateway": {"escalation_timeout_s": 5},
    "mcp": {"agent_id": "configured-agent", "tools": {"wire_money": {"action": "PAY_INVOICE"}}},
}


def aio(test: Callable[[], Awaitable[None]]) -> Callable[[], None]:
    """Runs an `async def` test in a fresh event loop (no pytest plugin needed)."""

    @functools.wraps(test)
    def run() -> None:
        asyncio.run(test())  # type: ignore[arg-type]

    return run


class Human:
    """An approver that answers each escalation from another thread, 0.2 s after it was
    asked (while the agent waits), approving or declining as told."""

    def __init__(self, approve: bool) -> None:
        self.approve = approve
        self.tickets: List[Dict[str, Any]] = []
        self.answered = threading.Event()

    def request(self, ticket: Dict[str, Any]) -> None:
        self.tickets.append(ticket)
        handle = ticket["handle"]

        def answer() -> None:
            handle.resolve(approved=self.approve, by="alice", channel="test", reason="checked the invoice")
            self.answered.set()

        threading.Timer(0.2, answer).start()


class Nobody:
    """An approver that records escalations and never answers."""

    def __init__(self) -> None:
        self.tickets: List[Dict[str, Any]] = []

    def request(self, ticket: Dict[str, Any]) -> None:
        self.tickets.append(ticket)


class Recording(sg.Gateway):
    """The real gateway, remembering the verdicts it handed to the integrations."""

    verdicts: List[sg.ToolVerdict]

    def authorize_tool(self, *args: Any, **kwargs: Any) -> sg.ToolVerdict:
        verdict = super().authorize_tool(*args, **kwargs)
        self.verdicts.append(verdict)
        return verdict

    async def aauthorize_tool(self, *args: Any, **kwargs: Any) -> sg.ToolVerdict:
        verdict = await super().aauthorize_tool(*args, **kwargs)
        self.verdicts.append(verdict)
        return verdict


def gateway(approver: Optional[object] = None, timeout: float = 5.0) -> Recording:
    config = dict(CONFIG, gateway={"escalation_timeout_s": timeout})
    gw = Recording.from_config(config, approver=approver)
    gw.verdicts = []
    return gw
