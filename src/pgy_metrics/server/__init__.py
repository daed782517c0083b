"""The HTTP API server: the one place where business codes are decided.

``create_app`` and ``Settings`` are loaded on first use, so importing a light submodule (the
settings file reader, the plans views) does not import the whole server stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pgy_metrics.server.app import create_app
    from pgy_metrics.server.settings import Settings

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from pgy_metrics.server.app import create_app

        return create_app
    if name == "Settings":
        from pgy_metrics.server.settings import Settings

        return Settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
