"""The metrics service: cached snapshot, else one upstream fetch per key, stored as history."""

from pgy_metrics.service.metrics import MetricsService

__all__ = ["MetricsService"]
