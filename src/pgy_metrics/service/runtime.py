"""The composition root: settings and a source configuration in, the objects a process serves
with out. The server builds one ``Runtime``; the CLI's administrative commands open only what
they need (``open_administration``). Nothing here knows HTTP.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from pgy_metrics.clock import Clock, SystemClock
from pgy_metrics.contract.endpoints import ENDPOINTS, NOTES_RATE, Registry
from pgy_metrics.service.account_alerts import AccountWebhook, LocalClaims
from pgy_metrics.service.account_reload import (
    FileReloadSignal,
    GenerationCounter,
)
from pgy_metrics.service.billing import Billing
from pgy_metrics.service.config import FileConfig, configured_source
from pgy_metrics.service.gate import Encoder, Gate
from pgy_metrics.service.health import RETENTION_MINUTES as HEALTH_RETENTION_MINUTES
from pgy_metrics.service.health import HealthRecorder
from pgy_metrics.service.limits import RateLimiter
from pgy_metrics.service.metrics import Deferred, MetricsService
from pgy_metrics.service.settings import Settings
from pgy_metrics.service.tokens import Authenticator, TokenHasher, TokenIssuer, load_pepper
from pgy_metrics.sources.base import Source
from pgy_metrics.store.database import Store

if TYPE_CHECKING:
    from pgy_metrics.service.jobs import CollectionQueue

log = logging.getLogger("pgy_metrics.service")


@dataclass
class Runtime:
    """The objects one server process serves with."""

    settings: Settings
    store: Store
    service: MetricsService
    authenticator: Authenticator
    issuer: TokenIssuer
    clock: Clock
    billing: Billing
    limiter: RateLimiter
    health: HealthRecorder
    gate: Gate
    endpoints: Registry
    queue: CollectionQueue | None = None
    """The collection queue in queue mode (``PGY_COLLECT=queue``); None collects inline."""
    account_webhook: AccountWebhook | None = None
    """Told of account incidents (``PGY_ACCOUNT_WEBHOOK_URL``); None when unset."""
    accounts_reload: GenerationCounter | None = None
    """The deployment's cookie reload generation (``pgy accounts reload``)."""

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

    async def aclose(self) -> None:
        if self.account_webhook is not None:
            await self.account_webhook.aclose()
        if self.queue is not None:
            await self.queue.aclose()
        await self.service.aclose()
        await self.store.aclose()


def build_runtime(
    settings: Settings,
    *,
    encode: Encoder,
    source: Source | None = None,
    clock: Clock | None = None,
    config: FileConfig | None = None,
    endpoints: Registry = ENDPOINTS,
) -> Runtime:
    """Everything a server process needs. ``source`` and ``clock`` are injectable for tests and
    embedding; ``config`` (a settings file) supplies the ordered upstream sources; ``encode``
    is the edge's encoder of success answers (what idempotent replays store)."""
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
    pool = None
    if settings.redis_url:
        # Imported only here: its Redis client (coredis) brings NumPy, ~30 MB of a server's
        # memory that a server without PGY_REDIS_URL never uses (docs/benchmarks.md, soak).
        from pgy_metrics.service.account_pool import RedisAccountPool

        pool = RedisAccountPool(settings.redis_url, prefix=settings.redis_key_prefix)
    reload: GenerationCounter = pool if pool is not None else FileReloadSignal(settings.data_dir)
    webhook = (
        AccountWebhook(
            settings.account_webhook_url,
            claims=pool if pool is not None else LocalClaims(),
            timeout_seconds=settings.account_webhook_timeout_seconds,
        )
        if settings.account_webhook_url is not None
        else None
    )
    if source is None:
        source = configured_source(
            settings,
            config,
            clock=clock,
            outcomes=health,
            pool=pool,
            incidents=webhook,
            reload=reload,
        )
    queue = None
    if settings.collect == "queue":
        from pgy_metrics.service.jobs import CollectionQueue  # procrastinate: queue mode only

        queue = CollectionQueue(
            settings.resolved_database_url,
            wait_seconds=settings.collect_wait_seconds,
            endpoints=endpoints,
        )
    deferred: Deferred | None = queue
    service = MetricsService(
        store=store,
        source=source,
        clock=clock,
        ttl=settings.cache_ttl,
        memory_bytes=settings.snapshot_cache_bytes,
        prepare=encode.prepare,
        health=health,
        deferred=deferred,
    )
    authenticator = Authenticator(
        store=store, hasher=hasher, cache_seconds=settings.token_cache_seconds
    )
    limiter = RateLimiter(redis_url=settings.redis_url, key_prefix=settings.redis_key_prefix)
    return Runtime(
        settings=settings,
        store=store,
        service=service,
        authenticator=authenticator,
        issuer=TokenIssuer(store=store, hasher=hasher, clock=clock, billing=billing),
        clock=clock,
        billing=billing,
        limiter=limiter,
        health=health,
        gate=Gate(
            settings=settings,
            store=store,
            service=service,
            authenticator=authenticator,
            billing=billing,
            limiter=limiter,
            clock=clock,
            encode=encode,
            endpoints=endpoints,
        ),
        endpoints=endpoints,
        queue=queue,
        account_webhook=webhook,
        accounts_reload=reload,
    )


@asynccontextmanager
async def open_administration(settings: Settings) -> AsyncIterator[TokenIssuer]:
    """A migrated store and a token issuer for one administrative command (``pgy tokens``,
    ``pgy usage``), closed when it is done; no source, limiter or health is built."""
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
