"""The Model Context Protocol server of ``pgy mcp`` (the ``mcp`` extra; docs/mcp.md)."""

from pgy_metrics.mcp_server.app import build_server, serve
from pgy_metrics.mcp_server.budget import Budget, BudgetExceeded, SessionBudgets

__all__ = ["Budget", "BudgetExceeded", "SessionBudgets", "build_server", "serve"]
