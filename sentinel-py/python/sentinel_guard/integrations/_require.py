"""The clear ImportError of an integration whose framework is not installed."""

from __future__ import annotations

import importlib.util


def require(module: str, extra: str, integration: str) -> None:
    """Raises ImportError naming the extra to install when ``module`` cannot be imported."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ImportError(
            f"sentinel_guard.integrations.{integration} needs the `{module}` package: "
            f"pip install 'sentinel-guard[{extra}]'",
            name=module,
        )
