"""Sentinel: guard an agent's tool calls in-process.

Every decision is made by the Rust core (``sentinel-core``); this package is a thin
binding. See ``Gateway`` to start::

    from sentinel_guard import Gateway, Denied

    gw = Gateway()
    d = gw.evaluate({"agent_id": "session_x", "action": "PAY_INVOICE",
                     "payload": {"amount": 10000, "vendor": "Unknown Corp"},
                     "reasoning": "vendor says it is overdue"})
    d.status  # "BLOCKED_AWAITING_AUTH"
"""

from ._gateway import Gateway
from ._native import (
    ActionTypeError,
    AlreadyExecuted,
    ApprovalHandle,
    ApprovalTimeout,
    ApproverError,
    ConfigError,
    ConflictError,
    Decision,
    Denied,
    GroqScorer,
    InvalidActionError,
    PolicyError,
    ReceiptMismatch,
    ScorerError,
    SentinelError,
    TelnyxApprover,
    ToolVerdict,
    UnknownActionError,
    __version__,
    flush_telemetry,
)

__all__ = [
    "ActionTypeError",
    "AlreadyExecuted",
    "ApprovalHandle",
    "ApprovalTimeout",
    "ApproverError",
    "ConfigError",
    "ConflictError",
    "Decision",
    "Denied",
    "Gateway",
    "GroqScorer",
    "InvalidActionError",
    "PolicyError",
    "ReceiptMismatch",
    "ScorerError",
    "SentinelError",
    "TelnyxApprover",
    "ToolVerdict",
    "UnknownActionError",
    "__version__",
    "flush_telemetry",
]
