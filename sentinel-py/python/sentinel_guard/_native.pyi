"""Type stubs of the native module (checked against the build with mypy.stubtest)."""

import asyncio
import os
from typing import Any, Callable, Dict, List, Literal, Mapping, Optional, Sequence, Union, final

from typing_extensions import Self, disjoint_base

__all__ = [
    "Gateway",
    "Decision",
    "ApprovalHandle",
    "GroqScorer",
    "TelnyxApprover",
    "ToolVerdict",
    "SentinelError",
    "InvalidActionError",
    "ActionTypeError",
    "PolicyError",
    "ConfigError",
    "Denied",
    "ApprovalTimeout",
    "ApproverError",
    "ScorerError",
    "AlreadyExecuted",
    "UnknownActionError",
    "ConflictError",
    "ReceiptMismatch",
    "flush_telemetry",
    "__version__",
]

__version__: str

def flush_telemetry() -> None: ...

_PackSpec = Union[str, "os.PathLike[str]", Mapping[str, Any]]
_Config = Union[str, "os.PathLike[str]", Mapping[str, Any]]
_Unmatched = Literal["escalate", "deny", "score"]
_OnScorerError = Literal["escalate", "deny"]

@final
class Decision:
    """What the gateway decided about an action (read-only)."""

    @property
    def action_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def risk_score(self) -> int: ...
    @property
    def analysis(self) -> str: ...
    @property
    def rules(self) -> List[str]: ...
    @property
    def auto_approved(self) -> bool: ...
    @property
    def needs_approval(self) -> bool: ...
    @property
    def declined(self) -> bool: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class ApprovalHandle:
    """Delivers a human's answer for one escalated action."""

    @property
    def action_id(self) -> str: ...
    def resolve(self, *, approved: bool, by: str, channel: str = "python", reason: str = "") -> Dict[str, Any]: ...

@final
class GroqScorer:
    """The Groq (OpenAI-compatible) LLM risk scorer, configured (the core's ``[scorer.groq]``
    section). ``None`` settings come from ``GROQ_API_KEY``, ``GROQ_BASE_URL``,
    ``GROQ_MODEL``, then the core's defaults."""

    def __new__(
        cls,
        api_key: Optional[str] = None,
        *,
        base_url: Optional[str] = None,
        model: Optional[str] = None,
        timeout: Optional[float] = None,
        connect_timeout: Optional[float] = None,
        deadline: Optional[float] = None,
        max_retries: Optional[int] = None,
        retry_backoff: Optional[float] = None,
        concurrency: Optional[int] = None,
        cache_ttl: Optional[float] = None,
        redact_paths: Optional[Sequence[str]] = None,
    ) -> "GroqScorer": ...
    @property
    def base_url(self) -> str: ...
    @property
    def model(self) -> str: ...
    def stats(self) -> Dict[str, int]: ...

_Headers = Mapping[str, str]
_Arguments = Union[None, str, Mapping[str, Any]]

@final
class ToolVerdict:
    """Whether a framework's tool call may run, and if not, why (read-only)."""

    @property
    def allowed(self) -> bool: ...
    @property
    def tool(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def action_id(self) -> Optional[str]: ...
    @property
    def status(self) -> Optional[str]: ...
    @property
    def decision(self) -> Optional[Decision]: ...
    @property
    def message(self) -> str: ...
    @property
    def error(self) -> Optional[BaseException]: ...

@final
class TelnyxApprover:
    """The Telnyx voice approver, configured. Each ``None`` setting comes from its
    environment variable (``TELNYX_API_KEY``, ``TELNYX_CONNECTION_ID``,
    ``TELNYX_PHONE_NUMBER``, ``ADMIN_PHONE_NUMBER``, ``TELNYX_PUBLIC_KEY``,
    ``SENTINEL_PUBLIC_URL``, ``TELNYX_API_BASE``, ``TELNYX_APPROVAL_PIN``...), then the default."""

    def __new__(
        cls,
        *,
        api_key: Optional[str] = None,
        connection_id: Optional[str] = None,
        from_number: Optional[str] = None,
        admin_number: Optional[str] = None,
        public_key: Optional[str] = None,
        public_url: Optional[str] = None,
        api_base: Optional[str] = None,
        pin: Optional[str] = None,
        gather_timeout: Optional[int] = None,
        max_replays: Optional[int] = None,
        ring_timeout: Optional[int] = None,
        call_time_limit: Optional[int] = None,
        voice: Optional[str] = None,
        language: Optional[str] = None,
        redact_paths: Optional[Sequence[str]] = None,
    ) -> "TelnyxApprover": ...
    @property
    def admin_number(self) -> str: ...
    @property
    def api_base(self) -> str: ...
    @property
    def webhook_url(self) -> Optional[str]: ...
    def handle_webhook(self, headers: _Headers, body: Union[bytes, str]) -> int: ...

@disjoint_base
class Gateway:
    """The native gateway; use ``sentinel_guard.Gateway``."""

    def __new__(
        cls,
        packs: Optional[Sequence[_PackSpec]] = None,
        scorer: Optional[object] = None,
        approver: Optional[object] = None,
        escalation_timeout: float = 180.0,
        store: Union[None, str, "os.PathLike[str]"] = None,
        store_schema: Optional[str] = None,
        *,
        unmatched: Optional[_Unmatched] = None,
        on_scorer_error: Optional[_OnScorerError] = None,
    ) -> "Gateway": ...
    @classmethod
    def from_config(
        cls, config: _Config, /, *, scorer: Optional[object] = None, approver: Optional[object] = None
    ) -> Self: ...
    def evaluate(self, action: Mapping[str, Any], *, traceparent: Optional[str] = None) -> Decision: ...
    def _aevaluate(self, action: Mapping[str, Any], traceparent: Optional[str] = None) -> "asyncio.Future[Decision]": ...
    def guard(
        self, action: Mapping[str, Any], func: Callable[..., Any], /, *args: Any, traceparent: Optional[str] = None, **kwargs: Any
    ) -> Any: ...
    def _aauthorize(self, action: Mapping[str, Any], traceparent: Optional[str] = None) -> "asyncio.Future[str]": ...
    def tool_action(
        self,
        integration: str,
        tool: str,
        arguments: _Arguments = None,
        *,
        reasoning: Optional[str] = None,
        agent_id: Optional[str] = None,
    ) -> Dict[str, Any]: ...
    def authorize_tool(
        self,
        integration: str,
        tool: str,
        arguments: _Arguments = None,
        *,
        reasoning: Optional[str] = None,
        agent_id: Optional[str] = None,
        approved_by: Optional[str] = None,
        traceparent: Optional[str] = None,
    ) -> ToolVerdict: ...
    def _aauthorize_tool(
        self,
        integration: str,
        tool: str,
        arguments: _Arguments,
        reasoning: Optional[str],
        agent_id: Optional[str],
        approved_by: Optional[str],
        traceparent: Optional[str],
    ) -> "asyncio.Future[ToolVerdict]": ...
    def resolve(
        self, action_id: str, *, approved: bool, by: str, channel: str = "python", reason: str = ""
    ) -> Dict[str, Any]: ...
    def status(self, action_id: str) -> Dict[str, Any]: ...
    def explain(self, action_id: str, question: str) -> str: ...
    def audit_trail(self, action_id: str) -> List[Dict[str, Any]]: ...
    def set_qna_mode(self, action_id: str, on: bool, *, by: str, channel: str = "python") -> Dict[str, Any]: ...
    def handle_telnyx_webhook(self, headers: _Headers, body: Union[bytes, str]) -> int: ...
    def _ahandle_telnyx_webhook(self, headers: _Headers, body: Union[bytes, str]) -> "asyncio.Future[int]": ...
    def scorer_stats(self) -> Optional[Dict[str, int]]: ...
    def metrics(self) -> Dict[str, Dict[str, Any]]: ...
    @property
    def store(self) -> str: ...
    @property
    def packs(self) -> List[str]: ...
    @property
    def scorer(self) -> str: ...
    @property
    def approver(self) -> Optional[str]: ...
    @property
    def escalation_timeout(self) -> float: ...

class SentinelError(Exception):
    """Base class of every error raised by sentinel_guard."""

    code: str

class InvalidActionError(SentinelError, ValueError):
    field: Optional[str]

class ActionTypeError(InvalidActionError, TypeError): ...
class PolicyError(SentinelError, ValueError): ...

class ConfigError(SentinelError, ValueError):
    key: Optional[str]
    file: Optional[str]
    line: Optional[int]
    env: Optional[str]

class Denied(SentinelError):
    decision: Optional[Decision]
    action_id: Optional[str]

class ApprovalTimeout(SentinelError, TimeoutError):
    decision: Optional[Decision]
    action_id: Optional[str]

class ApproverError(SentinelError):
    decision: Optional[Decision]
    action_id: Optional[str]

class ScorerError(SentinelError):
    decision: Optional[Decision]
    action_id: Optional[str]

class AlreadyExecuted(SentinelError):
    decision: Optional[Decision]
    action_id: Optional[str]

class UnknownActionError(SentinelError, LookupError):
    action_id: Optional[str]

class ConflictError(SentinelError):
    action_id: Optional[str]

class ReceiptMismatch(ConflictError): ...
