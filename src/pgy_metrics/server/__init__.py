"""The HTTP API server: the one place where business codes are decided."""

from pgy_metrics.server.app import create_app
from pgy_metrics.server.settings import Settings

__all__ = ["Settings", "create_app"]
