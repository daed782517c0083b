"""One engine per database per process: reads on its pool, every write through one writer thread.

Every write of the process (money, snapshots, tokens, health, idempotency keys, migrations) is an
operation handed to ONE writer thread, which runs every operation waiting at that moment in ONE
transaction on its own long-lived connection (group commit): with many requests in flight a commit
is shared by all of them, and SQLite's single writer lock is never fought over by the requests of
one process (only by other processes, which wait up to the busy timeout). Reads run in the default
thread pool on the same engine's other connections, beside the writer (SQLite in WAL mode).

The engine is synchronous (sqlite3, psycopg) on purpose: the writer is a thread either way, and a
read's thread hop costs what aiosqlite's own hop costs, so one engine serves both.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL

log = logging.getLogger("pgy_metrics.store.writer")
T = TypeVar("T")
Item = TypeVar("Item")

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite writer waits for another process's one before failing: long enough for
bursts. The server passes ``PGY_SQLITE_BUSY_TIMEOUT_MS``; this is its default."""
MAX_BATCH = 256
"""Operations committed together at most; bounds one transaction's length."""
WRITER_THREAD = "store-writer"
READ_ONLY = "pgy_read_only"
"""Execution option of read connections: SQLite begins them deferred, not ``IMMEDIATE``."""


class Database:
    """The engine of one database and its writer; what every repository of a ``Store`` shares."""

    def __init__(
        self, url: URL, *, echo: bool = False, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
    ) -> None:
        if busy_timeout_ms < 0:
            raise ValueError(f"busy_timeout_ms must be 0 or more; got {busy_timeout_ms}")
        self.busy_timeout_ms = busy_timeout_ms
        self.engine = _engine(url, echo=echo, busy_timeout_ms=busy_timeout_ms)
        self.dialect = self.engine.dialect.name
        self._inbox: queue.SimpleQueue[list[_Operation[Any]] | None] = queue.SimpleQueue()
        self._pending: dict[asyncio.AbstractEventLoop, list[_Operation[Any]]] = {}
        """Per event loop, the writes asked for in its current iteration, not yet handed over."""
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` on a pooled connection in a worker thread, in a read transaction."""

        def run() -> T:
            with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
                return fn(conn)

        return await asyncio.to_thread(run)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` on the writer's connection inside a transaction (shared with the other
        operations waiting at the same moment); its result, or the exception it raised.

        ``fn`` must do only database work: it holds up every other write of the process.
        """
        loop = asyncio.get_running_loop()
        return await self._enqueue(_Operation(fn, loop.create_future(), loop))

    async def write_together(self, combine: Combine[Item, T], item: Item) -> T:
        """Like ``write``, for writes of one kind that are cheaper made together: every
        ``item`` of a batch handed over with the same ``combine`` goes to ONE call
        ``combine(conn, items)`` (in the batch's transaction), which returns one result per
        item, in order. A cached answer's charge is one (``Ledger.charge``): its ledger rows
        go in one ``executemany`` and its counted calls in one statement per token and day.

        A combined call runs after the batch's other operations; if the batch fails, each item
        is retried alone, as ``combine(conn, [item])``.
        """
        loop = asyncio.get_running_loop()
        return await self._enqueue(
            _Operation(None, loop.create_future(), loop, combine=combine, item=item)
        )

    def _enqueue(self, operation: _Operation[T]) -> asyncio.Future[T]:
        """Add to this loop iteration's hand-over; the future the writer settles."""
        loop = operation.loop
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            loop.call_soon(self._hand_over, loop)
        pending.append(operation)
        return operation.future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the event loop, once per iteration that asked for writes: hand them all to the
        writer at once. One wake-up of the writer thread (and one commit) per loop iteration,
        not per request: under load a single request's hand-over woke the writer, which then
        committed one or two writes at a time and took the CPU from the event loop each time.
        ``call_soon`` runs in the same iteration, so a lone write waits for nothing."""
        batch = self._pending.pop(loop, None)
        if batch:
            self._start()
            self._inbox.put(batch)

    def _start(self) -> None:
        if self._writer is not None and self._writer.is_alive():
            return
        with self._lock:
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(
                    target=self._write_forever, name=WRITER_THREAD, daemon=True
                )
                self._writer.start()

    def _write_forever(self) -> None:
        """The writer thread: take every waiting operation, commit them together, report back.

        One thread with one long-lived connection (not a pool checkout and a thread hop per
        batch), and one wake-up of each waiting event loop per batch, not per operation.
        """
        conn: Connection | None = None
        while True:
            first = self._inbox.get()
            if first is None:
                break
            waiting = list(first)
            while True:
                try:
                    following = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if following is None:
                    self._inbox.put(None)  # stop after this batch
                    break
                waiting.extend(following)
            for start in range(0, len(waiting), MAX_BATCH):
                batch = waiting[start : start + MAX_BATCH]
                try:
                    if conn is None or conn.invalidated or conn.closed:
                        conn = self.engine.connect()
                    outcomes = self._commit(conn, batch)
                except Exception as error:  # cannot even connect: every waiter learns why
                    outcomes = [(False, error)] * len(batch)
                    conn = None
                _report(batch, outcomes)
        if conn is not None:
            conn.close()

    def _commit(self, conn: Connection, batch: list[_Operation[Any]]) -> list[tuple[bool, Any]]:
        """Run the batch in one transaction; if anything fails, each alone in its own."""
        if len(batch) == 1:
            return [self._commit_alone(conn, batch[0])]
        try:
            with conn.begin():
                return _run_together(conn, batch)
        except Exception:
            log.warning("a batch of %d writes failed; retrying each alone", len(batch))
            return [self._commit_alone(conn, operation) for operation in batch]

    def _commit_alone(self, conn: Connection, operation: _Operation[Any]) -> tuple[bool, Any]:
        try:
            with conn.begin():
                return True, operation.run_alone(conn)
        except Exception as error:
            return False, error

    async def aclose(self) -> None:
        self._hand_over(asyncio.get_running_loop())  # writes asked for just before closing
        writer, self._writer = self._writer, None
        if writer is not None:
            self._inbox.put(None)
            await asyncio.to_thread(writer.join, 30)
        self.engine.dispose()


Combine = Callable[[Connection, list[Item]], list[T]]
"""``(connection, items) -> one result per item``: writes of one kind made together."""


@dataclass(slots=True)
class _Operation(Generic[T]):
    fn: Callable[[Connection], T] | None
    future: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop
    """The loop its request waits on (a store may outlive one ``asyncio.run``)."""
    combine: Combine[Any, T] | None = None
    item: Any = None

    def run_alone(self, conn: Connection) -> T:
        if self.combine is not None:
            (result,) = self.combine(conn, [self.item])
            return result
        assert self.fn is not None
        return self.fn(conn)


def _run_together(conn: Connection, batch: list[_Operation[Any]]) -> list[tuple[bool, Any]]:
    """Every operation of a batch in the open transaction: plain ones in order, then each
    kind of combined ones in one call. One outcome per operation, in the batch's order."""
    outcomes: list[tuple[bool, Any]] = [(True, None)] * len(batch)
    together: dict[Combine[Any, Any], list[int]] = {}
    for index, operation in enumerate(batch):
        if operation.combine is not None:
            together.setdefault(operation.combine, []).append(index)
        else:
            outcomes[index] = (True, operation.run_alone(conn))
    for combine, indexes in together.items():
        results = combine(conn, [batch[index].item for index in indexes])
        for index, result in zip(indexes, results, strict=True):
            outcomes[index] = (True, result)
    return outcomes


def _report(batch: list[_Operation[Any]], outcomes: list[tuple[bool, Any]]) -> None:
    """Hand the outcomes to the waiting event loops, one call per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Operation[Any], tuple[bool, Any]]]] = {}
    for operation, outcome in zip(batch, outcomes, strict=True):
        by_loop.setdefault(operation.loop, []).append((operation, outcome))
    for loop, settled in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, settled)
        except RuntimeError:  # that event loop is closed: nobody is waiting there any more
            continue


def _settle(settled: list[tuple[_Operation[Any], tuple[bool, Any]]]) -> None:
    """On the event loop: hand each waiting request its outcome."""
    for operation, (ok, value) in settled:
        if operation.future.done():  # its request was cancelled meanwhile
            continue
        if ok:
            operation.future.set_result(value)
        else:
            operation.future.set_exception(value)


def _engine(url: URL, *, echo: bool, busy_timeout_ms: int) -> Engine:
    """The synchronous engine; the URL's async driver names (``aiosqlite``) are accepted."""
    if url.get_backend_name() == "sqlite":
        database = url.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url.set(drivername="sqlite+pysqlite"), echo=echo)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            # Take transactions into our own hands so that writes start with BEGIN IMMEDIATE:
            # the writer's lock is taken up front, never upgraded from a read (which SQLite
            # may refuse at once, without waiting, when another process wrote meanwhile).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            # WAL lets readers run beside the one writer; NORMAL sync is durable across
            # process crashes.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            read_only = connection.get_execution_options().get(READ_ONLY)
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url.set(drivername="postgresql+psycopg"),
        echo=echo,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
    )
