"""Shared pieces of CLI commands: settings from env + options, a store opened for one command.

The service and store modules are imported inside the functions, so that a command that needs
neither (``pgy --version``, ``pgy fetch``, ``pgy batch``, ``pgy report``) starts without them.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pgy_metrics.service.settings import Settings
    from pgy_metrics.service.tokens import TokenIssuer


def load_settings(**overrides: Any) -> Settings:
    """``PGY_*`` environment variables, with command-line options (not None) winning."""
    from pgy_metrics.service.settings import Settings

    return Settings(**{key: value for key, value in overrides.items() if value is not None})


def open_issuer(settings: Settings) -> AbstractAsyncContextManager[TokenIssuer]:
    """A migrated store and a token issuer, closed when the command is done (the service
    layer's ``open_administration``: the CLI composes nothing of its own)."""
    from pgy_metrics.service.runtime import open_administration

    return open_administration(settings)
