"""The store: one async engine, migrations applied on start, repositories per concern."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from pgy_metrics.store.health import HealthRepository
from pgy_metrics.store.money import Ledger
from pgy_metrics.store.snapshots import SnapshotRepository
from pgy_metrics.store.tokens import TokenRepository

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite writer waits for another one before failing: long enough for bursts."""
_PG_MIGRATION_LOCK = 0x70677931
"""Advisory lock id that serialises migrations when several servers start at once."""


def default_sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'pgy-metrics.sqlite3'}"


class Store:
    """Everything persistent, behind one object the server, service and CLI share."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        if self.url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(
                "database URL must be sqlite+aiosqlite:///PATH or postgresql+psycopg://...; "
                f"got the backend {self.url.get_backend_name()!r}"
            )
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            database = self.url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.tokens = TokenRepository(self.sessions)
        self.snapshots = SnapshotRepository(self.sessions)
        self.ledger = Ledger(self.url)
        self.health = HealthRepository(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def describe(self) -> str:
        """The URL with any password hidden, for logs and banners."""
        return self.url.render_as_string(hide_password=True)

    async def migrate(self) -> None:
        """Bring the schema to the newest revision; safe when several processes start at once."""
        async with self.engine.begin() as connection:
            await connection.run_sync(self._upgrade)

    def _upgrade(self, connection: Connection) -> None:
        # Alembic takes most of a second to import: only the processes that migrate pay for it,
        # not every ``pgy`` command that merely opens a store.
        from alembic import command
        from alembic.config import Config

        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async def aclose(self) -> None:
        await self.ledger.aclose()
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; NORMAL sync is durable across process crashes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
