"""Queue mode below the gate: the service defers a miss and answers what the worker stored; the
queue itself (procrastinate on a throw-away PostgreSQL database) retries transient failures with
backoff and gives the asker the worker's own 301 message; settings and options refuse what
cannot work, naming the setting."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from pgy_metrics.clock import FixedClock, SystemClock
from pgy_metrics.contract import Scope
from pgy_metrics.contract.endpoints import Query, notes_query
from pgy_metrics.service import MetricsService
from pgy_metrics.service.jobs import (
    NO_WORKER,
    CollectionQueue,
    JobRow,
    key_text,
    libpq_url,
    status_option,
)
from pgy_metrics.service.settings import Settings
from pgy_metrics.sources.base import CollectionError
from pgy_metrics.store import Store
from tests.fakes import CountingSource, FailingSource

USER = "5d21ab6b000000001201567d"
START = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)


@pytest.fixture
def payload(fixture_bytes: bytes) -> dict[str, object]:
    data: dict[str, object] = json.loads(fixture_bytes)["data"]
    return data


class WorkerStandIn:
    """Collects in another service on the same store, as a worker process would."""

    def __init__(self, worker: MetricsService) -> None:
        self.worker = worker
        self.deferred: list[tuple[str, str, str]] = []

    async def collect(self, query: Query, max_age: timedelta | None) -> None:
        self.deferred.append(query.key)
        await self.worker.serve(query, max_age=max_age)


async def test_a_miss_is_deferred_once_and_answered_from_what_the_worker_stored(
    store: Store, payload: dict[str, object]
) -> None:
    clock = FixedClock(START)
    source = CountingSource(payload, gate=asyncio.Event())
    remote = WorkerStandIn(MetricsService(store=store, source=source, clock=clock))
    server = MetricsService(
        store=store, source=CountingSource(payload), clock=clock, deferred=remote
    )
    asks = [asyncio.create_task(server.serve(notes_query(USER, Scope()))) for _ in range(5)]
    await asyncio.sleep(0.05)
    assert source.gate is not None
    source.gate.set()
    served = await asyncio.gather(*asks)
    assert len(remote.deferred) == 1  # concurrent askers in one process share one job
    assert len(source.calls) == 1
    assert {s.snapshot.collected_at for s in served} == {START}
    assert not any(s.cached for s in served)  # collected for them: priced as fresh
    again = await server.serve(notes_query(USER, Scope()))
    assert again.cached
    assert len(remote.deferred) == 1  # a hit defers nothing


async def test_the_workers_failure_is_the_askers_301_message(
    store: Store, payload: dict[str, object]
) -> None:
    clock = FixedClock(START)
    remote = WorkerStandIn(MetricsService(store=store, source=FailingSource(payload), clock=clock))
    server = MetricsService(
        store=store, source=CountingSource(payload), clock=clock, deferred=remote
    )
    with pytest.raises(CollectionError, match=r"The upstream timed out; please retry\."):
        await server.serve(notes_query(USER, Scope()))


async def test_a_job_that_stored_another_sources_data_is_no_answer(
    store: Store, payload: dict[str, object]
) -> None:
    clock = FixedClock(START)
    other = CountingSource(payload, name="sandbox")
    remote = WorkerStandIn(MetricsService(store=store, source=other, clock=clock))
    server = MetricsService(
        store=store, source=CountingSource(payload), clock=clock, deferred=remote
    )
    with pytest.raises(CollectionError, match="same --config"):
        await server.serve(notes_query(USER, Scope()))


def test_queue_mode_needs_postgresql_and_says_so(tmp_path: object) -> None:
    assert Settings().collect == "inline"
    with pytest.raises(ValidationError, match=r"PGY_COLLECT \(or --collect\) 'queue' needs"):
        Settings(collect="queue", database_url=None)
    with pytest.raises(ValidationError, match="'inline' or 'queue'"):
        Settings(collect="later")
    settings = Settings(collect="queue", database_url="postgresql+psycopg://u@h:5432/db")
    assert settings.collect == "queue"  # nothing connects while settings are read


def test_names_and_options() -> None:
    assert libpq_url("postgresql+psycopg://u@h:5432/db") == "postgresql://u@h:5432/db"
    assert libpq_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert key_text(notes_query(USER, Scope()).key).startswith(f"notes_rate|{USER}|")
    assert status_option("queued") == "todo"
    assert status_option("running") == "doing"
    assert status_option("done") == "succeeded"
    assert status_option("failed") == "failed"
    assert status_option(None) is None
    with pytest.raises(ValueError, match="status must be one of queued, running, done, failed"):
        status_option("stuck")
    row = JobRow(1, "succeeded", "notes_rate", USER, "-", 1, None, None)
    assert row.as_json()["status"] == "done"
    assert "token" not in json.dumps(row.as_json())


@contextlib.asynccontextmanager
async def running_worker(
    url: str, store: Store, source: CountingSource
) -> AsyncIterator[MetricsService]:
    """A worker of the real queue in this process (the CLI's ``pgy worker`` minus signals)."""
    service = MetricsService(store=store, source=source, clock=SystemClock())
    queue = CollectionQueue(
        url, collect=lambda query, max_age: service.serve(query, max_age=max_age)
    )
    await queue.open()
    task = asyncio.create_task(queue.run_worker(concurrency=2, signals=False))
    try:
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await queue.aclose()


@pytest.fixture
async def pg_store(postgres_url: str) -> AsyncIterator[Store]:
    store = Store(postgres_url)
    await store.migrate()
    yield store
    await store.aclose()


async def test_a_transient_failure_is_retried_with_backoff_and_then_answered(
    postgres_url: str, pg_store: Store, payload: dict[str, object]
) -> None:
    failing = FailingSource(payload)
    asker = CollectionQueue(postgres_url, wait_seconds=30)
    server = MetricsService(store=pg_store, source=failing, clock=SystemClock(), deferred=asker)
    try:
        async with running_worker(postgres_url, pg_store, failing):
            ask = asyncio.create_task(server.serve(notes_query(USER, Scope())))
            while not failing.calls:  # the first attempt failed...
                await asyncio.sleep(0.05)
            failing.healthy = True  # ...the upstream recovers before the retry
            served = await ask
        assert served.snapshot.user_id == USER
        assert len(failing.calls) == 2  # one failed attempt, then the retry that answered
        [job] = await asker.jobs()
        assert job.status == "succeeded"
    finally:
        await asker.aclose()


async def test_a_job_out_of_attempts_gives_the_workers_message(
    postgres_url: str, pg_store: Store, payload: dict[str, object]
) -> None:
    failing = FailingSource(payload)
    asker = CollectionQueue(postgres_url, wait_seconds=30)
    server = MetricsService(store=pg_store, source=failing, clock=SystemClock(), deferred=asker)
    try:
        async with running_worker(postgres_url, pg_store, failing):
            with pytest.raises(CollectionError) as raised:
                await server.serve(notes_query(USER, Scope()))
        assert raised.value.message == "The upstream timed out; please retry."  # as inline
        assert len(failing.calls) == 3  # MAX_ATTEMPTS, 2 s then 4 s apart
        [job] = await asker.jobs(status="failed")
        assert job.message == "The upstream timed out; please retry."
        assert (await asker.counts())["failed"] == 1
    finally:
        await asker.aclose()


async def test_no_worker_means_a_301_naming_pgy_worker_and_a_cancelled_job(
    postgres_url: str, pg_store: Store, payload: dict[str, object]
) -> None:
    asker = CollectionQueue(postgres_url, wait_seconds=0.5)
    server = MetricsService(
        store=pg_store, source=CountingSource(payload), clock=SystemClock(), deferred=asker
    )
    try:
        with pytest.raises(CollectionError) as raised:
            await server.serve(notes_query(USER, Scope()))
        assert raised.value.message == NO_WORKER.format(seconds=0.5)
        counts = await asker.counts()
        assert (counts["queued"], counts["cancelled"]) == (0, 1)
    finally:
        await asker.aclose()
