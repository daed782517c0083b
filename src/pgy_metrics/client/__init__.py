"""The Python client of the Note Performance Metrics API: ``Client`` and ``AsyncClient``.

Both are thin twins over ``_base.BaseClient``, which validates parameters, builds requests, parses
answers and decides retries without doing any I/O. See ``docs/client.md``.
"""

from pgy_metrics.client._async import AsyncClient
from pgy_metrics.client._base import (
    DataSummaryResult,
    EndpointResult,
    FansHistoryResult,
    FansProfileResult,
    FansSummaryResult,
    HistoryPoint,
    HistoryResult,
    NotesRateResult,
    ProfileResult,
    SiblingResult,
)
from pgy_metrics.client._exceptions import (
    CODE_TO_ERROR,
    APIConnectionError,
    APIError,
    APITimeoutError,
    CollectionFailed,
    ConfigurationError,
    DailyQuotaExceeded,
    InsufficientBalance,
    InvalidParams,
    InvalidToken,
    PermissionDenied,
    PgyError,
    PlainHTTPWarning,
    ProtocolError,
    RateLimited,
    ServerError,
    UnknownCodeError,
)
from pgy_metrics.client._sync import Client
from pgy_metrics.client.batch import (
    AsyncBatch,
    Batch,
    BatchItem,
    BatchStats,
    BudgetReached,
    NotAttempted,
)
from pgy_metrics.client.checkpoint import Checkpoint

__all__ = [
    "CODE_TO_ERROR",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncBatch",
    "AsyncClient",
    "Batch",
    "BatchItem",
    "BatchStats",
    "BudgetReached",
    "Checkpoint",
    "Client",
    "CollectionFailed",
    "ConfigurationError",
    "DailyQuotaExceeded",
    "DataSummaryResult",
    "EndpointResult",
    "FansHistoryResult",
    "FansProfileResult",
    "FansSummaryResult",
    "HistoryPoint",
    "HistoryResult",
    "InsufficientBalance",
    "InvalidParams",
    "InvalidToken",
    "NotAttempted",
    "NotesRateResult",
    "PermissionDenied",
    "PgyError",
    "PlainHTTPWarning",
    "ProfileResult",
    "ProtocolError",
    "RateLimited",
    "ServerError",
    "SiblingResult",
    "UnknownCodeError",
]
