"""pgy-metrics: the Pugongying Note Performance Metrics API, its client and analytics.

The client's public names are imported lazily, so ``import pgy_metrics`` stays cheap and free of
side effects (no httpx, no pydantic until a client name is used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncClient",
    "Client",
    "CollectionFailed",
    "ConfigurationError",
    "DailyQuotaExceeded",
    "InsufficientBalance",
    "InvalidParams",
    "InvalidToken",
    "NotesRateResult",
    "PermissionDenied",
    "PgyError",
    "PlainHTTPWarning",
    "ProtocolError",
    "RateLimited",
    "ServerError",
    "UnknownCodeError",
    "__version__",
]

if TYPE_CHECKING:
    from pgy_metrics.client import (
        APIConnectionError,
        APIError,
        APITimeoutError,
        AsyncClient,
        Client,
        CollectionFailed,
        ConfigurationError,
        DailyQuotaExceeded,
        InsufficientBalance,
        InvalidParams,
        InvalidToken,
        NotesRateResult,
        PermissionDenied,
        PgyError,
        PlainHTTPWarning,
        ProtocolError,
        RateLimited,
        ServerError,
        UnknownCodeError,
    )


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        from pgy_metrics import client

        return getattr(client, name)
    raise AttributeError(f"module 'pgy_metrics' has no attribute {name!r}")
