"""Where data comes from: one module per source behind one small async interface."""

from pgy_metrics.sources.base import (
    CollectionError,
    MalformedPayload,
    NotRecorded,
    Source,
    UpstreamUnavailable,
)

__all__ = ["CollectionError", "MalformedPayload", "NotRecorded", "Source", "UpstreamUnavailable"]
