"""Collection as jobs on a PostgreSQL queue (procrastinate): servers defer, ``pgy worker`` collects.

Why a queue: collection then outlives the HTTP request that asked for it, a worker killed in the
middle of a job loses nothing (another worker retries it once the dead one's heartbeat is stale)
and transient upstream failures are retried with backoff by the queue, not by the asker.

One job collects one endpoint × creator × scope through the worker's own ``MetricsService`` (the
same code path an inline server uses), so the cluster-wide single-flight (advisory lock per key)
and the shared account pool still decide what reaches the upstream; a retried job that finds the
snapshot already stored answers from it, so there is still one snapshot per key.

Deferring is deduplicated: the job's ``queueing_lock`` is the key (a second asker joins the job
already waiting) and its ``lock`` is the key too (two jobs of one key never run at once). The
asker waits until the job has succeeded (the snapshot is in the store), failed (the message
recorded by the worker is the 301's message, as inline) or the wait ran out. It is woken by a
``LISTEN`` on ``JOB_DONE_CHANNEL``: procrastinate notifies workers of new jobs but not askers of
finished ones, so a trigger of ours on its jobs table does (``FINISHED_TRIGGER``); before, the
asker polled (first after 50 ms, then 1.5× longer up to 0.5 s), which added up to 0.3 s to a
queued ask. The status is still read every ``POLL_MAX_SECONDS`` in case a notification is lost
(the listening connection is re-opened after an error).

Nothing here connects at import time, and procrastinate is imported only when a queue is built:
the embedded default (SQLite, inline collection) and the light CLI never load it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pgy_metrics.contract.endpoints import ENDPOINTS, Query, Registry
from pgy_metrics.sources.base import CollectionError, SessionLost, UpstreamUnavailable

if TYPE_CHECKING:
    from procrastinate import App, JobContext

log = logging.getLogger("pgy_metrics.jobs")

QUEUE = "collect"
"""The procrastinate queue collection jobs go to (and ``pgy worker`` listens on)."""
TASK_NAME = "pgy_metrics.collect"
STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborted")
"""procrastinate's job statuses, in the order ``pgy jobs`` shows them."""
STATUS_WORDS = {"todo": "queued", "doing": "running", "succeeded": "done"}
"""How ``pgy jobs`` and ``/admin/jobs`` name procrastinate's statuses."""
MAX_ATTEMPTS = 3
"""Attempts of one job in all (the first and two retries)."""
RETRY_EXPONENTIAL_WAIT = 2
"""Transient failures wait 2, then 4 seconds before the next attempt: inside a request's budget."""
HEARTBEAT_SECONDS = 2.0
STALLED_SECONDS = 10.0
"""A worker silent this long is dead (kill -9, lost machine): its running jobs are retried."""
KEEP_HOURS = 24
"""Finished jobs stay this long for ``pgy jobs`` and ``/admin/jobs``; workers then delete them."""
PRUNE_SECONDS = 600.0
POLL_MAX_SECONDS = 0.5
"""Longest wait between two readings of a job's status when no notification came."""
JOB_DONE_CHANNEL = "pgy_job_finished"
LISTEN_READY_SECONDS = 2.0
"""How long an asker waits for the listener to be listening before deferring (then it relies
on reading the status)."""
FINISHED_TRIGGER = """
CREATE OR REPLACE FUNCTION pgy_notify_job_finished() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pgy_job_finished', NEW.id::text);
    RETURN NEW;
END;
$$;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'pgy_job_finished') THEN
        CREATE TRIGGER pgy_job_finished AFTER UPDATE OF status ON procrastinate_jobs
            FOR EACH ROW WHEN (NEW.status NOT IN ('todo', 'doing'))
            EXECUTE FUNCTION pgy_notify_job_finished();
    END IF;
END;
$$;
"""
"""Tells the askers waiting on a job (``LISTEN pgy_job_finished``) that it ended."""
SCHEMA_LOCK = 0x70677971  # "pgyq": one process applies the queue's schema at a time
FAILURES_TABLE = "pgy_collection_failures"
"""The message of a job's last failed attempt (safe to show: ``CollectionError.message``), so
that the asker answers the same 301 message an inline collection would."""
NO_WORKER = (
    "No worker collected this request within {seconds:g} s: the collection queue has no running "
    "`pgy worker`, or it is behind; retry later."
)
QUEUE_FAILED = "The collection job ended ({status}) without data; retry later."


def libpq_url(database_url: str) -> str:
    """``postgresql+psycopg://...`` (SQLAlchemy's form) as libpq reads it: ``postgresql://``."""
    return re.sub(r"^postgres(?:ql)?\+\w+://", "postgresql://", database_url)


def key_text(key: tuple[str, str, str]) -> str:
    """A query key as the jobs' lock and queueing lock: ``notes-rate|<userId>|<scope>``."""
    return "|".join(key)


class TransientFailure(Exception):
    """An attempt failed in a way another attempt may fix (timeout, 5xx, risk control on one
    account): the queue retries it with backoff."""


class FinalFailure(Exception):
    """An attempt failed in a way retrying will not fix soon (every session lost, a malformed
    answer, a creator a replay folder lacks): the job fails now."""


@dataclass(frozen=True, slots=True)
class JobRow:
    """One job as ``pgy jobs`` and ``/admin/jobs`` show it (the creator and scope, never a
    token: jobs carry none)."""

    id: int
    status: str
    endpoint: str
    user_id: str
    scope: str
    attempts: int
    scheduled_at: datetime | None
    message: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "status": STATUS_WORDS.get(self.status, self.status),
            "endpoint": self.endpoint,
            "userId": self.user_id,
            "scope": self.scope,
            "attempts": self.attempts,
            "scheduledAt": self.scheduled_at.isoformat() if self.scheduled_at else None,
            "message": self.message,
        }


Collect = Callable[[Query, timedelta | None], Awaitable[object]]
"""What a worker does with a job's query: ``MetricsService.serve`` (collect and store)."""


class CollectionQueue:
    """The procrastinate app of one process, built from the database URL; ``open`` connects.

    A server uses ``collect`` (defer and wait); a worker passes ``collect=`` (its service) and
    runs ``run_worker``; ``pgy jobs`` and ``/admin/jobs`` use ``jobs`` and ``counts``.
    """

    def __init__(
        self,
        database_url: str,
        *,
        wait_seconds: float = 50.0,
        collect: Collect | None = None,
        endpoints: Registry = ENDPOINTS,
    ) -> None:
        from procrastinate import App, PsycopgConnector, RetryStrategy

        self._url = libpq_url(database_url)
        self._wait_seconds = wait_seconds
        self._collect = collect
        self._endpoints = endpoints
        self._open = False
        self._opening = asyncio.Lock()
        self._queues: tuple[str, ...] = (QUEUE,)
        self._waiting: dict[int, set[asyncio.Event]] = {}
        """The events of the askers waiting on each job in this process."""
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self.app: App = App(connector=PsycopgConnector(conninfo=self._url, min_size=1, max_size=10))
        self.app.task(
            name=TASK_NAME,
            queue=QUEUE,
            pass_context=True,
            retry=RetryStrategy(
                max_attempts=MAX_ATTEMPTS - 1,  # procrastinate counts the retries
                exponential_wait=RETRY_EXPONENTIAL_WAIT,
                retry_exceptions={TransientFailure},
            ),
        )(self._run)

    async def open(self) -> None:
        """Connect, and create the queue's tables on a database that has none yet. Called
        by the first use too (a server opens its queue when the first miss defers a job)."""
        async with self._opening:
            if not self._open:
                await self.ensure_schema()
                await self.app.open_async()
                self._open = True

    async def _listen(self) -> None:
        """Have the listener of finished jobs running, and listening (up to
        ``LISTEN_READY_SECONDS``), before a job is deferred: its end must not go unheard."""
        if self._listener is None or self._listener.done():
            self._listening = asyncio.Event()
            self._listener = asyncio.create_task(self._listen_forever(), name="finished-jobs")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), LISTEN_READY_SECONDS)

    async def _listen_forever(self) -> None:
        """``LISTEN pgy_job_finished`` on a connection of its own; wakes the askers of each
        finished job. Reconnects after an error (meanwhile askers read the status)."""
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {JOB_DONE_CHANNEL}")
                    self._listening.set()
                    async for notice in conn.notifies():
                        payload = notice.payload
                        for event in (
                            self._waiting.get(int(payload), ()) if payload.isdigit() else ()
                        ):
                            event.set()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the askers still read the status: only slower
                log.info("listening for finished jobs failed, retrying: %s", error)
            self._listening.clear()
            await asyncio.sleep(1.0)

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
            self._listener = None
        if self._open:
            self._open = False
            await self.app.close_async()

    async def ensure_schema(self) -> None:
        """procrastinate's schema and the failures table, applied once per database (under an
        advisory lock: several processes starting together apply it once)."""
        import psycopg
        from procrastinate.schema import SchemaManager

        async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            try:
                found = await (
                    await conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
                ).fetchone()
                if not (found and found[0]):
                    await conn.execute(SchemaManager.get_schema())
                await conn.execute(FINISHED_TRIGGER)
                await conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {FAILURES_TABLE} ("
                    " job_id bigint PRIMARY KEY, message text NOT NULL,"
                    " at timestamptz NOT NULL DEFAULT now())"
                )
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))

    # -- the server's side: defer and wait --------------------------------------------------

    async def collect(self, query: Query, max_age: timedelta | None) -> None:
        """Have a worker collect ``query``; returns once its job succeeded, raises
        ``CollectionError`` (the message a 301 shows) when it failed or the wait ran out."""
        deadline = time.monotonic() + self._wait_seconds
        await self.open()
        await self._listen()
        job_id = await self.defer(query, max_age)
        status = await self._finished(job_id, deadline)
        while status in ("cancelled", "aborted") and time.monotonic() < deadline:
            # Another asker of this job gave up on it (its wait ran out first): this one has
            # time left, so it queues the key again.
            job_id = await self.defer(query, max_age)
            status = await self._finished(job_id, deadline)
        if status == "succeeded":
            return
        if status is None:
            with contextlib.suppress(Exception):
                # Still waiting in the queue: nobody will read its answer; a worker that comes
                # later must not spend an upstream call on it. (A running job is left alone.)
                await self.app.job_manager.cancel_job_by_id_async(job_id)
            raise CollectionError(NO_WORKER.format(seconds=self._wait_seconds), source="queue")
        message = await self._failure(job_id) if status == "failed" else None
        raise CollectionError(
            message or QUEUE_FAILED.format(status=STATUS_WORDS.get(status, status)),
            source="queue",
        )

    async def defer(self, query: Query, max_age: timedelta | None) -> int:
        """The id of the key's job: a new one, or the one already waiting (queueing lock)."""
        from procrastinate.exceptions import AlreadyEnqueued

        lock = key_text(query.key)
        # A caller's own freshness limit (Cache-Control) waits for a job of its own: a job that
        # may answer from an older snapshot would not do for it.
        waiting_lock = lock if max_age is None else f"{lock}|max-age={max_age.total_seconds():g}"
        task = self.app.tasks[TASK_NAME]
        args: dict[str, Any] = {
            "endpoint": query.endpoint.name,
            "params": query.api_params(),
            "max_age_seconds": None if max_age is None else max_age.total_seconds(),
        }
        for _ in range(5):
            try:
                deferrer = task.configure(lock=lock, queueing_lock=waiting_lock)
                return await deferrer.defer_async(**args)
            except AlreadyEnqueued:
                waiting = list(
                    await self.app.job_manager.list_jobs_async(
                        queueing_lock=waiting_lock, status="todo"
                    )
                )
                if waiting and waiting[0].id is not None:
                    return waiting[0].id
                # It started between the two statements: defer again (its lock keeps them apart).
        raise CollectionError(
            "The collection queue is too busy for this key; retry.", source="queue"
        )

    async def _finished(self, job_id: int, deadline: float) -> str | None:
        """The job's final status, or None when ``deadline`` passed first. Woken by the job's
        notification; reads the status at least every ``POLL_MAX_SECONDS`` all the same."""
        from procrastinate.jobs import Status

        event = asyncio.Event()
        self._waiting.setdefault(job_id, set()).add(event)
        try:
            while True:
                event.clear()
                status = await self.app.job_manager.get_job_status_async(job_id)
                if status not in (Status.TODO, Status.DOING):
                    return str(status.value)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(POLL_MAX_SECONDS, left))
        finally:
            waiting = self._waiting.get(job_id, set())
            waiting.discard(event)
            if not waiting:
                self._waiting.pop(job_id, None)

    async def _failure(self, job_id: int) -> str | None:
        row = await self.app.connector.execute_query_one_async(
            f"SELECT coalesce(max(message), '') AS message FROM {FAILURES_TABLE} "  # noqa: S608
            "WHERE job_id = %(job_id)s",
            job_id=job_id,
        )
        return str(row["message"]) or None

    # -- the worker's side ------------------------------------------------------------------

    async def _run(
        self,
        context: JobContext,
        *,
        endpoint: str,
        params: dict[str, str],
        max_age_seconds: float | None = None,
    ) -> None:
        """One job: collect and store through the worker's service (single-flight, pool)."""
        assert self._collect is not None, "only a worker (CollectionQueue(collect=...)) runs jobs"
        query = self._endpoints[endpoint].parse(params)
        max_age = None if max_age_seconds is None else timedelta(seconds=max_age_seconds)
        try:
            await self._collect(query, max_age)
        except CollectionError as error:
            job_id = context.job.id
            if job_id is not None:
                await self.app.connector.execute_query_async(
                    f"INSERT INTO {FAILURES_TABLE} (job_id, message) "  # noqa: S608
                    "VALUES (%(job_id)s, %(message)s) ON CONFLICT (job_id) "
                    "DO UPDATE SET message = excluded.message, at = now()",
                    job_id=job_id,
                    message=error.message,
                )
            log.warning(
                "collection job %s for %s failed (attempt %d): %s",
                job_id,
                query.describe(),
                context.job.attempts + 1,
                error.message,
            )
            if isinstance(error, UpstreamUnavailable) and not isinstance(error, SessionLost):
                raise TransientFailure(error.message) from None
            raise FinalFailure(error.message) from None

    async def run_worker(
        self,
        *,
        concurrency: int = 4,
        name: str = "pgy-worker",
        signals: bool = True,
        also: tuple[str, ...] = (),
    ) -> None:
        """Run jobs until SIGINT/SIGTERM (or cancelled; ``signals=False`` leaves the process's
        signal handlers alone, for an embedded worker); meanwhile retry the jobs of workers
        found dead. ``also``: queues besides collection's (the watchlists' ticks)."""
        self._queues = (QUEUE, *also)
        rescuer = asyncio.create_task(self._rescue_forever(), name="stalled-jobs")
        try:
            await self.app.run_worker_async(
                queues=list(self._queues),
                concurrency=concurrency,
                name=name,
                wait=True,
                install_signal_handlers=signals,
                # Rescued and retried jobs send no notification: look for them every second.
                fetch_job_polling_interval=1.0,
                update_heartbeat_interval=HEARTBEAT_SECONDS,
                stalled_worker_timeout=STALLED_SECONDS,
            )
        finally:
            rescuer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await rescuer

    async def rescue_stalled(self) -> int:
        """Put back in the queue the running jobs whose worker stopped sending heartbeats."""
        rescued = 0
        manager = self.app.job_manager
        for job in await manager.get_stalled_jobs(
            queue=QUEUE, seconds_since_heartbeat=STALLED_SECONDS
        ):
            try:
                await manager.retry_job(job)
            except Exception as problem:  # another worker rescued it first
                log.debug("job %s was not retried here: %s", job.id, problem)
                continue
            rescued += 1
            log.warning("job %s of a stopped worker is queued again", job.id)
        return rescued

    async def prune(self, *, older_than_hours: int = KEEP_HOURS) -> None:
        """Forget finished jobs (done, failed, cancelled, aborted) older than this, and their
        failure messages: the queue's tables do not grow without end."""
        for queue in self._queues:
            await self.app.job_manager.delete_old_jobs(
                nb_hours=older_than_hours,
                queue=queue,
                include_failed=True,
                include_cancelled=True,
                include_aborted=True,
            )
        await self.app.connector.execute_query_async(
            f"DELETE FROM {FAILURES_TABLE} failure WHERE NOT EXISTS ("  # noqa: S608
            "SELECT 1 FROM procrastinate_jobs job WHERE job.id = failure.job_id)"
        )

    async def _rescue_forever(self) -> None:
        pruned_at = 0.0
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self.rescue_stalled()
                if time.monotonic() - pruned_at >= PRUNE_SECONDS:
                    pruned_at = time.monotonic()
                    await self.prune()
            except Exception:
                log.exception("looking after the queue failed; trying again shortly")

    # -- what pgy jobs and /admin/jobs show -------------------------------------------------

    async def counts(self) -> dict[str, int]:
        """Jobs of the collection queue by status (every status, zeros included)."""
        await self.open()
        counted: Counter[str] = Counter()
        for row in await self.app.job_manager.list_queues_async(queue=QUEUE):
            for status in STATUSES:
                counted[status] += int(row.get(status, 0))
        return {STATUS_WORDS.get(status, status): counted[status] for status in STATUSES}

    async def jobs(self, *, status: str | None = None, limit: int = 50) -> list[JobRow]:
        """The newest jobs (of one status, in procrastinate's word), newest first."""
        await self.open()
        found = sorted(
            await self.app.job_manager.list_jobs_async(queue=QUEUE, status=status),
            key=lambda job: job.id or 0,
            reverse=True,
        )[:limit]
        messages: dict[int, str] = {}
        failed = [job.id for job in found if job.status == "failed" and job.id is not None]
        if failed:
            rows = await self.app.connector.execute_query_all_async(
                f"SELECT job_id, message FROM {FAILURES_TABLE} "  # noqa: S608
                "WHERE job_id = ANY(%(ids)s)",
                ids=failed,
            )
            messages = {int(row["job_id"]): str(row["message"]) for row in rows}
        rows_out = []
        for job in found:
            endpoint = str(job.task_kwargs.get("endpoint", ""))
            given = job.task_kwargs.get("params")
            params = {str(k): str(v) for k, v in given.items()} if isinstance(given, dict) else {}
            user_id = params.get("userId", "")
            try:
                scope = self._endpoints[endpoint].parse(params).scope_key
            except Exception:  # a job of an endpoint or version this process does not know
                scope = ".".join(value for name, value in params.items() if name != "userId")
            rows_out.append(
                JobRow(
                    id=job.id or 0,
                    status=str(job.status),
                    endpoint=endpoint,
                    user_id=user_id,
                    scope=scope or "-",
                    attempts=job.attempts,
                    scheduled_at=job.scheduled_at,
                    message=messages.get(job.id or 0),
                )
            )
        return rows_out


def status_option(word: str | None) -> str | None:
    """``--status`` / ``?status=`` in our words (queued, running, done, failed, cancelled,
    aborted) or procrastinate's, as procrastinate's; ``ValueError`` naming the choices."""
    if word is None:
        return None
    ours = {value: key for key, value in STATUS_WORDS.items()}
    status = ours.get(word, word)
    if status not in STATUSES:
        choices = ", ".join(STATUS_WORDS.get(each, each) for each in STATUSES)
        raise ValueError(f"status must be one of {choices}; got {word!r}")
    return status
