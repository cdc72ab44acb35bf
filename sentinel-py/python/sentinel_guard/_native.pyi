"""Type stubs of the native module (checked against the build with mypy.stubtest)."""

import asyncio
import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union, final

from typing_extensions import disjoint_base

__all__ = [
    "Gateway",
    "Decision",
    "ApprovalHandle",
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
    "__version__",
]

__version__: str

_PackSpec = Union[str, "os.PathLike[str]", Mapping[str, Any]]

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

@disjoint_base
class Gateway:
    """The native gateway; use ``sentinel_guard.Gateway``."""

    def __new__(
        cls,
        packs: Optional[Sequence[_PackSpec]] = None,
        scorer: Optional[object] = None,
        approver: Optional[object] = None,
        escalation_timeout: float = 180.0,
    ) -> "Gateway": ...
    def evaluate(self, action: Mapping[str, Any]) -> Decision: ...
    def _aevaluate(self, action: Mapping[str, Any]) -> "asyncio.Future[Decision]": ...
    def guard(self, action: Mapping[str, Any], func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any: ...
    def _aauthorize(self, action: Mapping[str, Any]) -> "asyncio.Future[str]": ...
    def resolve(
        self, action_id: str, *, approved: bool, by: str, channel: str = "python", reason: str = ""
    ) -> Dict[str, Any]: ...
    def status(self, action_id: str) -> Dict[str, Any]: ...
    def explain(self, action_id: str, question: str) -> str: ...
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

class InvalidActionError(SentinelError, ValueError):
    field: Optional[str]

class ActionTypeError(InvalidActionError, TypeError): ...
class PolicyError(SentinelError, ValueError): ...
class ConfigError(SentinelError, ValueError): ...

class Denied(SentinelError):
    decision: Optional[Decision]
    action_id: Optional[str]

class ApprovalTimeout(SentinelError, TimeoutError):
    action_id: Optional[str]

class ApproverError(SentinelError):
    action_id: Optional[str]

class ScorerError(SentinelError):
    decision: Optional[Decision]
    action_id: Optional[str]

class AlreadyExecuted(SentinelError):
    action_id: Optional[str]

class UnknownActionError(SentinelError, LookupError):
    action_id: Optional[str]

class ConflictError(SentinelError): ...
