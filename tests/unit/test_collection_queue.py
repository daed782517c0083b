"""Queue mode below the gate: the service defers a miss and answers what the worker stored; the
queue itself (procrastinate on a throw-away PostgreSQL database) retries transient failures with
backoff and gives the asker the worker's own 301 message; settings and options refuse what
cannot work, naming the setting."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from pgy_metrics.clock import FixedClock, SystemClock
from pgy_metrics.contract import NOTES_RATE_PATH, Scope
from pgy_metrics.contract.endpoints import Query, notes_query
from pgy_metrics.server import create_app
from pgy_metrics.service import MetricsService, jobs
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
from pgy_metrics.store.tokens import BillingPlan
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
    clock.advance(seconds=1)
    again = await server.serve(notes_query(USER, Scope()))
    assert again.cached
    assert len(remote.deferred) == 1  # a hit defers nothing


async def test_no_cache_in_queue_mode_is_answered_by_the_job_collected_for_it(
    store: Store, payload: dict[str, object]
) -> None:
    clock = FixedClock(START)
    source = CountingSource(payload)
    remote = WorkerStandIn(MetricsService(store=store, source=source, clock=clock))
    server = MetricsService(
        store=store, source=CountingSource(payload), clock=clock, deferred=remote
    )
    await server.serve(notes_query(USER, Scope()))
    clock.advance(minutes=5)
    fresh = await server.serve(notes_query(USER, Scope()), max_age=timedelta(0))
    assert len(source.calls) == 2  # collected anew for the caller's no-cache
    assert fresh.snapshot.collected_at == START + timedelta(minutes=5)
    assert not fresh.cached


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


def test_queue_mode_needs_postgresql_and_says_so() -> None:
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


async def test_the_asker_is_woken_by_the_jobs_end_not_by_polling(
    postgres_url: str,
    pg_store: Store,
    payload: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the status read only every 1000 s, the ask is answered at all within its wait
    only if the finished job's notification (``LISTEN pgy_job_finished``) woke the asker."""
    monkeypatch.setattr(jobs, "POLL_MAX_SECONDS", 1000.0)
    source = CountingSource(payload)
    asker = CollectionQueue(postgres_url, wait_seconds=600)
    server = MetricsService(store=pg_store, source=source, clock=SystemClock(), deferred=asker)
    try:
        async with running_worker(postgres_url, pg_store, source):
            served = await asyncio.wait_for(server.serve(notes_query(USER, Scope())), 60)
        assert served.snapshot.user_id == USER
        assert len(source.calls) == 1
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
        await asker.prune(older_than_hours=1)
        assert (await asker.counts())["failed"] == 1  # kept for a while
        await asker.prune(older_than_hours=0)
        assert (await asker.counts())["failed"] == 0
        assert await asker.jobs() == []
        assert await asker._failure(job.id) is None  # its message went with it
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


# -- /admin/jobs in process ----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def served(settings: Settings, payload: dict[str, object]) -> AsyncIterator[Any]:
    """The app in process (ASGI), its lifespan run, with an admin and a plain token."""
    app = create_app(settings, source=CountingSource(payload))
    async with app.router.lifespan_context(app):
        issuer = app.state.runtime.issuer
        admin = (await issuer.create("ops", is_admin=True)).token
        plain = (await issuer.create("shop", plan=BillingPlan(balance=3))).token
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http, admin, plain


async def test_admin_jobs_inline_says_there_is_no_queue(
    tmp_path: Path, payload: dict[str, object]
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/s.db")
    async with served(settings, payload) as (http, admin, plain):
        answer = await http.get("/admin/jobs", headers={"Authorization": f"Bearer {admin}"})
        refused = await http.get("/admin/jobs", headers={"Authorization": f"Bearer {plain}"})
    assert answer.status_code == 200
    assert answer.json() == {"collect": "inline", "counts": {}, "jobs": []}
    assert refused.status_code == 403


async def test_admin_jobs_in_queue_mode_shows_the_abandoned_job(
    tmp_path: Path, postgres_url: str, payload: dict[str, object]
) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=postgres_url, collect="queue", collect_wait_seconds=0.3
    )
    async with served(settings, payload) as (http, admin, plain):
        asked = await http.get(NOTES_RATE_PATH, params={"token": plain, "userId": USER})
        auth = {"Authorization": f"Bearer {admin}"}
        shown = await http.get("/admin/jobs", headers=auth)
        only = await http.get("/admin/jobs", headers=auth, params={"status": "cancelled"})
        bad = await http.get("/admin/jobs", headers=auth, params={"status": "stuck"})
    assert asked.json()["code"] == 301
    assert "pgy worker" in asked.json()["message"]
    body = shown.json()
    assert body["collect"] == "queue"
    assert body["counts"]["cancelled"] == 1
    [job] = only.json()["jobs"]
    assert (job["status"], job["userId"], job["endpoint"]) == ("cancelled", USER, "notes_rate")
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("status: ")
    assert "queued" in bad.json()["detail"]


def test_inline_serving_never_imports_the_queue(tmp_path: Path) -> None:
    """The embedded default pays nothing for the queue: procrastinate stays unimported."""
    script = (
        "import sys\n"
        "from pgy_metrics.server import create_app\n"
        "from pgy_metrics.service.settings import Settings\n"
        f"create_app(Settings(data_dir={str(tmp_path)!r}))\n"
        "assert 'procrastinate' not in sys.modules, 'inline mode imported procrastinate'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


async def test_an_asker_with_time_left_queues_again_what_another_asker_gave_up(
    postgres_url: str, pg_store: Store, payload: dict[str, object]
) -> None:
    """Two servers' askers share one waiting job; the one with the shorter wait cancels it when
    its time runs out; the other queues the key again and is answered once a worker runs."""
    source = CountingSource(payload)
    impatient = CollectionQueue(postgres_url, wait_seconds=0.3)
    patient = CollectionQueue(postgres_url, wait_seconds=30)
    first = MetricsService(store=pg_store, source=source, clock=SystemClock(), deferred=impatient)
    second = MetricsService(store=pg_store, source=source, clock=SystemClock(), deferred=patient)
    try:
        waiting = asyncio.create_task(second.serve(notes_query(USER, Scope())))
        with pytest.raises(CollectionError, match="No worker"):
            await first.serve(notes_query(USER, Scope()))
        assert (await patient.counts())["cancelled"] == 1
        async with running_worker(postgres_url, pg_store, source):
            served = await waiting
        assert served.snapshot.user_id == USER
        assert len(source.calls) == 1
        assert (await patient.counts())["done"] == 1
    finally:
        await impatient.aclose()
        await patient.aclose()
