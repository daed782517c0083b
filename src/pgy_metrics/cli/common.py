"""Shared pieces of CLI commands: settings from env + options, a store opened for one command.

The server and store modules are imported inside the functions, so that a command that needs
neither (``pgy --version``, ``pgy fetch``, ``pgy batch``, ``pgy report``) starts without them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pgy_metrics.service.settings import Settings
    from pgy_metrics.service.tokens import TokenIssuer


def load_settings(**overrides: Any) -> Settings:
    """``PGY_*`` environment variables, with command-line options (not None) winning."""
    from pgy_metrics.service.settings import Settings

    return Settings(**{key: value for key, value in overrides.items() if value is not None})


@asynccontextmanager
async def open_issuer(settings: Settings) -> AsyncIterator[TokenIssuer]:
    """A migrated store and a token issuer, closed when the command is done."""
    from pgy_metrics.clock import SystemClock
    from pgy_metrics.service.billing import Billing
    from pgy_metrics.service.tokens import TokenHasher, TokenIssuer, load_pepper
    from pgy_metrics.store.database import Store

    store = Store(settings.resolved_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        await store.migrate()
        clock = SystemClock()
        yield TokenIssuer(
            store=store,
            hasher=TokenHasher(load_pepper(settings)),
            clock=clock,
            billing=Billing(settings=settings, clock=clock),
        )
    finally:
        await store.aclose()
