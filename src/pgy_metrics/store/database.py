"""The store: one engine and one writer per database, migrations applied on start, repositories
per concern (see ``engine.Database`` for how reads and writes reach the database)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine, make_url

from pgy_metrics.store.engine import SQLITE_BUSY_TIMEOUT_MS, Database
from pgy_metrics.store.health import HealthRepository
from pgy_metrics.store.money import Ledger
from pgy_metrics.store.snapshots import SnapshotRepository
from pgy_metrics.store.tokens import TokenRepository
from pgy_metrics.store.watchlists import WatchlistRepository

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "head"
_PG_MIGRATION_LOCK = 0x70677931
"""Advisory lock id that serialises migrations when several servers start at once."""

COLLECTION_LOCK_POLL_SECONDS = 0.1
"""How often a process waiting for another one's collection tries the lock again. Waiting by
polling ``pg_try_advisory_xact_lock`` holds no pooled connection and no thread while waiting (a
blocking ``pg_advisory_xact_lock`` would hold both for every waiting key)."""

COLLECTION_LOCKS_PER_PROCESS = 8
"""Collection locks a process holds or waits for at once. A held lock keeps one connection of
the engine's pool (10 + 20 overflow) for the whole collection, pacing wait included: the bound
leaves the pool to reads, which a holder itself needs to re-read the snapshot, and keeps lock
polls from filling the default thread pool. Collections beyond it wait in the process, without
a connection; the account pool's pace, not this, bounds how many can usefully run."""

__all__ = ["MIGRATIONS", "SQLITE_BUSY_TIMEOUT_MS", "Store", "default_sqlite_url"]


def default_sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'pgy-metrics.sqlite3'}"


class Store:
    """Everything persistent, behind one object the server, service and CLI share."""

    def __init__(
        self, url: str, *, echo: bool = False, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
    ) -> None:
        self.url = make_url(url)
        if self.url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(
                "database URL must be sqlite+aiosqlite:///PATH or postgresql+psycopg://...; "
                f"got the backend {self.url.get_backend_name()!r}"
            )
        self.database = Database(self.url, echo=echo, busy_timeout_ms=busy_timeout_ms)
        self.tokens = TokenRepository(self.database)
        self.snapshots = SnapshotRepository(self.database)
        self.ledger = Ledger(self.database)
        self.health = HealthRepository(self.database)
        self.watchlists = WatchlistRepository(self.database)
        self._collection_slots: asyncio.Semaphore | None = None

    @property
    def engine(self) -> Engine:
        """The one (synchronous) engine of this store; use ``read``/``write`` from async code."""
        return self.database.engine

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def describe(self) -> str:
        """The URL with any password hidden, for logs and banners."""
        return self.url.render_as_string(hide_password=True)

    async def ping(self) -> None:
        """One trivial query; raises if the database cannot be reached."""
        await self.database.read(lambda conn: conn.execute(text("SELECT 1")).scalar())

    async def check_writable(self) -> None:
        """One write transaction that changes nothing; raises if the store cannot be written
        (a read-only SQLite file or disk, a read-only PostgreSQL role or replica). Run before a
        server announces itself, so that such a store is one clear line at start, not a
        traceback from the first request that pays."""
        await self.database.write(
            lambda conn: conn.execute(text("DELETE FROM reservations WHERE 1 = 0"))
        )

    async def migrate(self, to: str = HEAD) -> None:
        """Bring the schema to revision ``to`` (the newest by default; an older one downgrades);
        safe when several processes start at once. Runs as one operation of the writer."""
        await self.database.write(lambda connection: self._upgrade(connection, to))

    def _upgrade(self, connection: Connection, to: str) -> None:
        # Alembic takes most of a second to import: only the processes that migrate pay for it,
        # not every ``pgy`` command that merely opens a store.
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        if to == HEAD:
            command.upgrade(config, HEAD)
            return
        current = MigrationContext.configure(connection).get_current_revision()
        script = ScriptDirectory.from_config(config)
        newer = (
            current is not None
            and current != to
            and to in {revision.revision for revision in script.iterate_revisions(current, "base")}
        )
        (command.downgrade if newer else command.upgrade)(config, to)

    @asynccontextmanager
    async def collection_lock(self, key: tuple[str, ...]) -> AsyncIterator[None]:
        """Hold the cluster-wide lock of one collection key (endpoint, creator, scope) while the
        body runs: every process sharing this PostgreSQL database waits here for the one
        collecting that key. A transaction-level advisory lock on a dedicated connection of the
        store's engine: PostgreSQL releases it when the transaction ends, also when the process
        dies mid-collection, so a crashed holder never blocks the others.

        On SQLite (one process) the in-process single-flight is all there is: no lock.
        """
        if self.is_sqlite:
            yield
            return
        if self._collection_slots is None:
            self._collection_slots = asyncio.Semaphore(COLLECTION_LOCKS_PER_PROCESS)
        lock_id = collection_lock_id(key)
        engine = self.engine
        async with self._collection_slots:
            while True:
                conn = await asyncio.to_thread(_try_lock, engine, lock_id)
                if conn is not None:
                    break
                await asyncio.sleep(COLLECTION_LOCK_POLL_SECONDS)
            try:
                yield
            finally:
                # Ending the transaction releases the lock; the connection returns to the pool.
                await asyncio.to_thread(_release, conn)

    async def aclose(self) -> None:
        await self.database.aclose()


def collection_lock_id(key: tuple[str, ...]) -> int:
    """A signed 64-bit advisory lock id for a collection key, the same in every process
    (``hash()`` is salted per process; a digest is not)."""
    digest = hashlib.blake2b("\x1f".join(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _try_lock(engine: Engine, lock_id: int) -> Connection | None:
    """A connection in a transaction holding the advisory lock ``lock_id``; None if another
    transaction holds it."""
    conn = engine.connect()
    try:
        held = conn.execute(
            text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": lock_id}
        ).scalar_one()
    except BaseException:
        conn.close()
        raise
    if held:
        return conn
    conn.rollback()
    conn.close()
    return None


def _release(conn: Connection) -> None:
    try:
        conn.rollback()
    finally:
        conn.close()
