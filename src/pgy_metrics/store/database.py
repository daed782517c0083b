"""The store: one engine and one writer per database, migrations applied on start, repositories
per concern (see ``engine.Database`` for how reads and writes reach the database)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine, make_url

from pgy_metrics.store.engine import SQLITE_BUSY_TIMEOUT_MS, Database
from pgy_metrics.store.health import HealthRepository
from pgy_metrics.store.money import Ledger
from pgy_metrics.store.snapshots import SnapshotRepository
from pgy_metrics.store.tokens import TokenRepository

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "head"
_PG_MIGRATION_LOCK = 0x70677931
"""Advisory lock id that serialises migrations when several servers start at once."""

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

    async def aclose(self) -> None:
        await self.database.aclose()
