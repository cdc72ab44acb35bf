"""The public ``Gateway``: the native gateway plus its ``async def`` methods and ``guarded``."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Dict, Mapping, Optional, TypeVar, Union, cast

from . import _native

F = TypeVar("F", bound=Callable[..., Any])


class Gateway(_native.Gateway):
    """The safety gateway: decides about actions and runs guarded functions only when allowed.

    ``Gateway.from_config("sentinel.toml")`` builds one from a configuration file (TOML or
    JSON) or a mapping in the same form, as the CLI, the server and the Node binding do;
    ``from_config(..., scorer=obj, approver=obj)`` puts your own objects in place of the
    configuration's.

    ``Gateway(packs=None, scorer=None, approver=None, escalation_timeout=180.0, store=None,
    store_schema=None, *, unmatched=None, on_scorer_error=None)`` says the same in keyword
    arguments:

    - ``packs``: ``None`` for the three seed packs (VaultKeeper, PrivacyShield, OpsGuard),
      or a list of built-in pack names, pack file paths and pack dicts.
    - ``scorer``: ``None``/``"offline"`` (deterministic, no network); ``"groq"`` or a
      ``GroqScorer(...)`` (the LLM scorer); or an object with
      ``assess(action) -> {"risk_score": int, "analysis": str}`` and optionally
      ``explain(action, assessment, question) -> str`` (``def`` or ``async def``).
    - ``approver``: ``None`` (escalations wait for ``resolve``); ``"telnyx"`` or a
      ``TelnyxApprover(...)`` (phones the admin; webhooks go to ``handle_telnyx_webhook``);
      or an object with ``request(ticket)`` (``def`` or ``async def``) that starts asking a
      human and returns.
    - ``escalation_timeout``: seconds an escalated action waits for a human.
    - ``store``: ``None`` (in memory), a database URL (``"sqlite://file.db"``,
      ``"postgres://..."``) or a SQLite file path; ``store_schema``: a PostgreSQL schema.
      With a database, pending approvals of earlier processes are recovered at once.
    - ``unmatched``: actions no pack covers: ``"escalate"`` (the default), ``"deny"`` or
      ``"score"`` (the scorer decides).
    - ``on_scorer_error``: when the scorer fails: ``"escalate"`` (the default) or ``"deny"``.

    A bad setting raises ``ConfigError`` naming its key (``err.key == "store.url"``); every
    exception has a stable ``code`` (``err.code == "denied"``).

    Blocking methods release the GIL while they wait; ``a*`` methods never block the event
    loop. One gateway may be shared by many threads and tasks.
    """

    async def aevaluate(self, action: Mapping[str, Any], *, traceparent: Optional[str] = None) -> _native.Decision:
        """``evaluate`` for asyncio: decides without recording or running anything."""
        return await self._aevaluate(action, traceparent)

    async def aguard(
        self, action: Mapping[str, Any], func: Callable[..., Any], /, *args: Any, traceparent: Optional[str] = None, **kwargs: Any
    ) -> Any:
        """``guard`` for asyncio: awaits approval without blocking the loop, then calls
        ``func(*args, **kwargs)`` and awaits its result when it is awaitable. The keyword
        ``traceparent`` (a W3C trace context) is Sentinel's, as in ``guard``."""
        await self._aauthorize(action, traceparent)
        result = func(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def aauthorize_tool(
        self,
        integration: str,
        tool: str,
        arguments: Union[None, str, Mapping[str, Any]] = None,
        *,
        reasoning: Optional[str] = None,
        agent_id: Optional[str] = None,
        approved_by: Optional[str] = None,
        traceparent: Optional[str] = None,
    ) -> _native.ToolVerdict:
        """``authorize_tool`` for asyncio: waits for a human without blocking the loop.
        Never raises for a refusal: the verdict's ``allowed`` says whether the tool may run."""
        return await self._aauthorize_tool(integration, tool, arguments, reasoning, agent_id, approved_by, traceparent)

    async def ahandle_telnyx_webhook(self, headers: Mapping[str, str], body: Union[bytes, str]) -> int:
        """``handle_telnyx_webhook`` for asyncio (FastAPI, Starlette): returns the HTTP status."""
        return await self._ahandle_telnyx_webhook(headers, body)

    def guarded(
        self,
        action: str,
        *,
        agent_id: str,
        reasoning: str = "",
        context: Optional[Dict[str, Any]] = None,
    ) -> Callable[[F], F]:
        """Decorator: every call of the function is guarded as ``action``.

        The payload is built from the call's arguments, bound to the function's signature
        (defaults applied; ``self``/``cls`` left out; ``**kwargs`` merged in). ``def``
        functions are guarded with ``guard``, ``async def`` functions with ``aguard``::

            @gw.guarded("PAY_INVOICE", agent_id="session_x")
            def pay_invoice(amount: float, vendor: str) -> str: ...

            pay_invoice(10000, "Unknown Corp")   # payload {"amount": 10000, "vendor": ...}
        """

        def decorate(func: F) -> F:
            signature = inspect.signature(func)

            def describe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
                request: dict[str, Any] = {
                    "agent_id": agent_id,
                    "action": action,
                    "payload": _payload(signature, args, kwargs),
                    "reasoning": reasoning,
                }
                if context is not None:
                    request["context"] = context
                return request

            if inspect.iscoroutinefunction(func):

                @functools.wraps(func)
                async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                    return await self.aguard(describe(args, kwargs), func, *args, **kwargs)

                return cast(F, guarded_async)

            @functools.wraps(func)
            def guarded_sync(*args: Any, **kwargs: Any) -> Any:
                return self.guard(describe(args, kwargs), func, *args, **kwargs)

            return cast(F, guarded_sync)

        return decorate


def _payload(signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments by parameter name (raises TypeError like the call would)."""
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    payload: dict[str, Any] = {}
    for index, (name, value) in enumerate(bound.arguments.items()):
        kind = signature.parameters[name].kind
        if index == 0 and name in ("self", "cls"):
            continue
        if kind is inspect.Parameter.VAR_KEYWORD:
            payload.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            payload[name] = list(value)
        else:
            payload[name] = value
    return payload

