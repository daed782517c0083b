"""The HTTP API server: the edge that turns HTTP into service calls and outcomes into bytes.

``create_app`` is loaded on first use, so importing a light submodule does not import the whole
server stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pgy_metrics.server.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from pgy_metrics.server.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
