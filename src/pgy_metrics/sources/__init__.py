"""Where data comes from: one module per source behind one small async interface."""

from pgy_metrics.sources.base import (
    AccountState,
    AccountStatus,
    CollectionError,
    MalformedPayload,
    NotRecorded,
    Outcome,
    OutcomeSink,
    RiskControlled,
    SessionLost,
    Source,
    SourceUnavailable,
    UpstreamUnavailable,
)

__all__ = [
    "AccountState",
    "AccountStatus",
    "CollectionError",
    "MalformedPayload",
    "NotRecorded",
    "Outcome",
    "OutcomeSink",
    "RiskControlled",
    "SessionLost",
    "Source",
    "SourceUnavailable",
    "UpstreamUnavailable",
]
