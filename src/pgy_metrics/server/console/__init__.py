"""The web console (``/console``): sign in with an API token, look up a creator (with the
cost shown and confirmed first), see usage, balance and status. See docs/console.md."""

from pgy_metrics.server.console.routes import router

__all__ = ["router"]
