"""pgy-metrics: the Pugongying Note Performance Metrics API, its client and analytics."""

__version__ = "0.1.0"
