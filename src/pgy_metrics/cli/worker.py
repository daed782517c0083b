"""``pgy worker``: run collection jobs from the PostgreSQL queue (``pgy serve --collect queue``).

A worker builds the same source (``--config``), store and account pool as a server, and collects
through the same ``MetricsService``: the cluster-wide single-flight and the account pool's pace
hold whether a server or a worker calls the upstream. It answers no HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import typer

from pgy_metrics.cli.common import load_settings
from pgy_metrics.cli.messages import USAGE_EXIT, fail, say

NEEDS_POSTGRES = (
    "pgy worker needs PostgreSQL: set PGY_DATABASE_URL=postgresql+psycopg://... (the database "
    "the servers use). On SQLite, pgy serve collects in-process and needs no worker."
)


def worker(
    concurrency: int = typer.Option(
        4, "--concurrency", min=1, max=100, help="Jobs this worker runs at the same time."
    ),
    config_file: Path | None = typer.Option(
        None,
        "--config",
        envvar="PGY_CONFIG",
        help="Settings file (TOML) with the upstream sources: the same one the servers use.",
        show_default="none: PGY_* variables only",
    ),
    log_level: str | None = typer.Option(
        None, help="debug, info, warning or error (PGY_LOG_LEVEL).", show_default="info"
    ),
) -> None:
    """Run collection jobs from the queue (PostgreSQL) until Ctrl-C."""
    from pgy_metrics.service.config import ConfigError, settings_from
    from pgy_metrics.service.config import load as load_config

    try:
        file_config = load_config(config_file) if config_file is not None else None
    except ConfigError as problem:
        raise fail(f"--config {problem}", code=USAGE_EXIT) from None
    # A worker collects itself, whatever PGY_COLLECT the servers beside it are given.
    overrides = {"log_level": log_level, "collect": "inline"}
    settings = (
        settings_from(file_config, **overrides)
        if file_config is not None
        else load_settings(**overrides)
    )
    if settings.resolved_database_url.startswith("sqlite"):
        raise fail(NEEDS_POSTGRES, code=USAGE_EXIT)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("procrastinate").setLevel(max(logging.INFO, logging.root.level))
    for chatty in ("alembic", "httpx"):  # migrations at start; one line per upstream call
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.root.level))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_work(settings, file_config, concurrency))


class _NoAnswers:
    """The gate's encoder for a process that answers no caller: a worker never encodes an
    answer, and with no memory for cached hits it prepares none either (so it need not import
    the server's ``SuccessEncoder``: the CLI imports the server only to start it)."""

    def prepare(self, snapshot: object) -> bytes:
        return b""

    def __call__(self, snapshot: object, request_id: str) -> bytes:
        return b""


async def _work(settings: object, file_config: object, concurrency: int) -> None:
    from pgy_metrics.service.config import FileConfig
    from pgy_metrics.service.jobs import QUEUE, CollectionQueue
    from pgy_metrics.service.runtime import build_runtime
    from pgy_metrics.service.settings import Settings

    assert isinstance(settings, Settings)
    assert file_config is None or isinstance(file_config, FileConfig)
    # The gate is never used here (a worker answers no caller): its encoder is never called,
    # and no memory is kept for cached hits it never serves (its ``serve`` reads the store).
    runtime = build_runtime(
        settings.model_copy(update={"snapshot_cache_mb": 0}),
        encode=_NoAnswers(),
        config=file_config,
    )
    service = runtime.service
    queue = CollectionQueue(
        settings.resolved_database_url,
        collect=lambda query, max_age: service.serve(query, max_age=max_age),
        endpoints=runtime.endpoints,
    )
    from pgy_metrics.service.watch_refresh import (
        WATCH_QUEUE,
        QueueSubmit,
        WatchRefresher,
        schedule_on_queue,
    )

    # Watchlists: the workers run the queue's scheduler, which defers one refresh tick per
    # interval for the whole cluster (service.watch_refresh).
    schedule_on_queue(
        queue,
        WatchRefresher(
            runtime.store, runtime.clock, QueueSubmit(queue), endpoints=runtime.endpoints
        ),
    )
    flusher: asyncio.Task[None] | None = None
    try:
        await runtime.store.migrate()
        await queue.open()
        flusher = asyncio.create_task(
            runtime.health.flush_forever(settings.health_flush_seconds), name="health-flush"
        )
        say(
            f"pgy worker running jobs of the {QUEUE!r} queue (source: {service.source_name}, "
            f"store: {runtime.store.describe()}, {concurrency} at a time); Ctrl-C stops"
        )
        await queue.run_worker(concurrency=concurrency, also=(WATCH_QUEUE,))
    finally:
        if flusher is not None:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        with contextlib.suppress(Exception):
            await runtime.health.flush()
        await queue.aclose()
        await runtime.aclose()
