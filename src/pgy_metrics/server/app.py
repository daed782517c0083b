"""``create_app(settings)``: the FastAPI application, built per call (no import-time state)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from pgy_metrics import __version__
from pgy_metrics.clock import Clock, SystemClock
from pgy_metrics.contract.endpoints import NOTES_RATE, NOTES_RATE_PATH
from pgy_metrics.server.routes import admin, index, metrics, notes_rate, probes, status
from pgy_metrics.server.routes.metrics import build_registry
from pgy_metrics.service.billing import Billing
from pgy_metrics.service.config import FileConfig, build_sources
from pgy_metrics.service.health import RETENTION_MINUTES as HEALTH_RETENTION_MINUTES
from pgy_metrics.service.health import HealthRecorder
from pgy_metrics.service.limits import RateLimiter
from pgy_metrics.service.metrics import MetricsService
from pgy_metrics.service.settings import Settings
from pgy_metrics.service.tokens import Authenticator, TokenHasher, TokenIssuer, load_pepper
from pgy_metrics.sources.base import Source
from pgy_metrics.sources.registry import SourceOptions, build_source
from pgy_metrics.store.database import Store

log = logging.getLogger("pgy_metrics.server")


@dataclass
class Runtime:
    """The objects one app instance serves with; kept on ``app.state.runtime``."""

    settings: Settings
    store: Store
    service: MetricsService
    authenticator: Authenticator
    issuer: TokenIssuer
    clock: Clock
    billing: Billing
    limiter: RateLimiter
    health: HealthRecorder
    answer_codes: Counter[int] = field(default_factory=Counter)
    """Answers of the notes-rate endpoint by business code (for /metrics)."""

    async def reap(self) -> int:
        """Release reservations of dead processes and forget expired idempotency keys."""
        now = self.clock.now()
        settings = self.settings
        released = await self.store.ledger.reap(
            older_than=now - timedelta(seconds=settings.reservation_timeout_seconds)
        )
        await self.store.ledger.purge_idempotency(
            expired_before=now - timedelta(hours=settings.idempotency_retention_hours)
        )
        await self.store.health.purge(
            before_minute=int(now.timestamp() // 60) - HEALTH_RETENTION_MINUTES
        )
        if released:
            log.warning("reaper released %d reservation(s) left by a stopped process", released)
        return released

    async def reap_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.reaper_interval_seconds)
            try:
                await self.reap()
            except Exception:
                log.exception("the reaper failed; it tries again next interval")


def create_app(
    settings: Settings,
    *,
    source: Source | None = None,
    clock: Clock | None = None,
    config: FileConfig | None = None,
) -> FastAPI:
    """Build the server. ``source`` and ``clock`` are injectable for tests and embedding;
    ``config`` (a settings file) supplies the ordered upstream sources."""
    clock = clock or SystemClock()
    store = Store(settings.resolved_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    hasher = TokenHasher(load_pepper(settings))
    billing = Billing(settings=settings, clock=clock)
    health = HealthRecorder(
        store=store,
        clock=clock,
        endpoint=NOTES_RATE,
        window_minutes=settings.health_window_minutes,
    )
    runtime = Runtime(
        settings=settings,
        store=store,
        service=MetricsService(
            store=store,
            source=source
            or (build_sources(config, clock=clock, outcomes=health) if config else None)
            or build_source(
                settings.source,
                SourceOptions(
                    clock=clock,
                    replay_dir=settings.replay_dir,
                    sandbox_seed=settings.sandbox_seed,
                ),
            ),
            clock=clock,
            ttl=settings.cache_ttl,
            memory_entries=settings.snapshot_memory_entries,
            health=health,
        ),
        authenticator=Authenticator(
            store=store, hasher=hasher, cache_seconds=settings.token_cache_seconds
        ),
        issuer=TokenIssuer(store=store, hasher=hasher, clock=clock, billing=billing),
        clock=clock,
        billing=billing,
        limiter=RateLimiter(redis_url=settings.redis_url),
        health=health,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await store.migrate()
        await runtime.reap()
        background = [
            asyncio.create_task(runtime.reap_forever(), name="reaper"),
            asyncio.create_task(
                health.flush_forever(settings.health_flush_seconds), name="health-flush"
            ),
        ]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            with contextlib.suppress(Exception):
                await health.flush()  # what was counted since the last flush
            await runtime.service.aclose()
            await store.aclose()

    app = FastAPI(
        title="pgy-metrics",
        version=__version__,
        summary="Xiaohongshu Pugongying Note Performance Metrics API (self-hosted)",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.metrics_registry, latency = build_registry(runtime)
    health.latency = latency
    app.add_middleware(notes_rate.NotesRateEndpoint, runtime=runtime)
    app.include_router(index.router)
    app.include_router(probes.router)
    app.include_router(status.router)
    app.include_router(metrics.router)
    app.include_router(admin.router)
    app.include_router(admin.holder_router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            schema.setdefault("paths", {})[NOTES_RATE_PATH] = {"get": notes_rate.OPENAPI_OPERATION}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
