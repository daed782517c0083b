"""The refresher: every tick, hand the watchlist keys that fall due to collection.

A tick reads the keys due before the next tick (``TICK_SECONDS`` ahead), moves each key's due
time one period on (``WatchlistRepository.claim``: a conditional update, so two refreshers never
hand one due time over twice) and submits each key at its own due time, so that collection is
spread over the period to the second rather than in one burst per tick.

Where it runs:

- **Queue mode** (PostgreSQL, ``pgy serve --collect queue`` + ``pgy worker``): the tick is a
  procrastinate periodic task (``@app.periodic``, the queue's own scheduler) that the workers
  defer once per tick for the whole cluster and run one at a time (its lock); a key becomes an
  ordinary collection job scheduled at its due time, deduplicated by the queue's per-key
  queueing lock and run under the per-key lock, single-flight and the account pool's pace like
  any other collection.
- **Inline mode** (SQLite's embedded default, or PostgreSQL ``--collect inline``): each
  ``pgy serve`` runs the same tick in a loop in-process and collects due keys through its own
  ``MetricsService``; with several inline servers on one PostgreSQL the claims keep them from
  refreshing a key twice.

A refresh never passes a token's gate: the operator pays (no token is charged, no quota counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pgy_metrics.clock import Clock
from pgy_metrics.contract.endpoints import ENDPOINTS, Query, Registry
from pgy_metrics.service.watchlists import max_age_for, next_due
from pgy_metrics.sources.base import CollectionError
from pgy_metrics.store.database import Store

if TYPE_CHECKING:
    from pgy_metrics.service.jobs import CollectionQueue
    from pgy_metrics.service.metrics import MetricsService

log = logging.getLogger("pgy_metrics.watchlists")

TICK_SECONDS = 10
"""How often due keys are handed over (each then waits for its own due second)."""
TICK_CRON = f"* * * * * */{TICK_SECONDS}"
"""The tick as procrastinate's cron (croniter: a sixth column of seconds)."""
TICK_TASK = "pgy_metrics.watch_tick"
WATCH_QUEUE = "watch"
"""The queue of the ticks (not ``collect``: ``pgy jobs`` lists collections only)."""
MAX_PER_TICK = 20_000
"""Keys handed over by one tick at most; more wait for the next (a list longer than the pool
can refresh would otherwise grow one tick without bound)."""
INLINE_CONCURRENCY = 8
"""Inline mode: refreshes collecting at once in one server (the pool's pace bounds the rest)."""

Submit = Callable[[Query, timedelta, datetime], Awaitable[None]]
"""Hand one key to collection: the query, the freshness it asks for, when it is due."""


class WatchRefresher:
    """``tick()``: submit every key due before the next tick; returns how many."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        submit: Submit,
        *,
        endpoints: Registry = ENDPOINTS,
        lookahead_seconds: float = TICK_SECONDS,
    ) -> None:
        self._store = store
        self._clock = clock
        self._submit = submit
        self._endpoints = endpoints
        self._lookahead = timedelta(seconds=lookahead_seconds)

    async def tick(self) -> int:
        now = self._clock.now()
        horizon = now + self._lookahead
        due = await self._store.watchlists.due(horizon, limit=MAX_PER_TICK)
        if not due:
            return 0
        moves = [
            # A key overdue (no tick ran at its time) is submitted now, and its next due time
            # is the first after this tick's horizon: one refresh for the slots it missed.
            (item, next_due(item.key, item.period_seconds, after=max(item.next_due_at, horizon)))
            for item in due
        ]
        claimed = await self._store.watchlists.claim(moves)
        submitted = 0
        for item in claimed:
            spec = self._endpoints.get(item.endpoint)
            if spec is None:
                log.warning(
                    "watchlist %s: unknown endpoint %r skipped", item.list_name, item.endpoint
                )
                continue
            try:
                query = spec.from_scope_key(item.user_id, item.params_key)
                await self._submit(
                    query, max_age_for(item.period_seconds), max(item.next_due_at, now)
                )
            except Exception as problem:
                log.warning(
                    "watchlist %s: refresh of %s not queued: %s",
                    item.list_name,
                    "|".join(item.key),
                    problem,
                )
                continue
            submitted += 1
        log.debug("watchlists: %d refresh(es) handed to collection", submitted)
        return submitted

    async def refresh_forever(self, seconds: float = TICK_SECONDS) -> None:
        """Inline mode's scheduler: a tick every ``seconds`` until cancelled."""
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("watchlist tick failed; trying again next tick")
            await asyncio.sleep(seconds)


class QueueSubmit:
    """Queue mode: a key becomes a collection job scheduled at its due time.

    The job is the one ``pgy serve --collect queue`` defers (same task, same arguments), with
    the key as its lock (never two collections of a key at once) and the key and freshness as
    its queueing lock (a refresh already waiting is not queued twice)."""

    def __init__(self, queue: CollectionQueue) -> None:
        self._queue = queue

    async def __call__(self, query: Query, max_age: timedelta, at: datetime) -> None:
        from procrastinate.exceptions import AlreadyEnqueued

        from pgy_metrics.service.jobs import TASK_NAME, key_text

        await self._queue.open()
        lock = key_text(query.key)
        task = self._queue.app.tasks[TASK_NAME]
        seconds = max_age.total_seconds()
        args: dict[str, Any] = {
            "endpoint": query.endpoint.name,
            "params": query.api_params(),
            "max_age_seconds": seconds,
        }
        with contextlib.suppress(AlreadyEnqueued):
            await task.configure(
                lock=lock, queueing_lock=f"{lock}|max-age={seconds:g}", schedule_at=at
            ).defer_async(**args)


class InlineSubmit:
    """Inline mode: collect in this process at the due time (single-flight and pace hold)."""

    def __init__(
        self, service: MetricsService, clock: Clock, *, concurrency: int = INLINE_CONCURRENCY
    ) -> None:
        self._service = service
        self._clock = clock
        self._slots = asyncio.Semaphore(concurrency)
        self._running: set[asyncio.Task[None]] = set()

    async def __call__(self, query: Query, max_age: timedelta, at: datetime) -> None:
        delay = max(0.0, (at - self._clock.now()).total_seconds())
        task = asyncio.create_task(self._refresh(query, max_age, delay))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _refresh(self, query: Query, max_age: timedelta, delay: float) -> None:
        await asyncio.sleep(delay)
        async with self._slots:
            try:
                await self._service.serve(query, max_age=max_age)
            except CollectionError as problem:
                log.warning("watchlist refresh of %s failed: %s", query.describe(), problem.message)

    async def aclose(self) -> None:
        for task in list(self._running):
            task.cancel()
        for task in list(self._running):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def schedule_on_queue(queue: CollectionQueue, refresher: WatchRefresher) -> None:
    """Register the tick as a periodic task of the queue's app (workers only: they run the
    periodic deferrer and listen on ``WATCH_QUEUE``)."""
    app = queue.app

    @app.periodic(cron=TICK_CRON, periodic_id="watchlists")
    @app.task(name=TICK_TASK, queue=WATCH_QUEUE, lock=TICK_TASK, queueing_lock=TICK_TASK)
    async def refresh_due(timestamp: int) -> None:
        await refresher.tick()
