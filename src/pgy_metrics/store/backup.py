"""Backing up and restoring the SQLite store: an online copy with SQLite's backup API, and a
checked restore that keeps the old file aside.

Why the backup API and not ``cp``: the store runs in WAL mode, so the database file alone misses
whatever is still in ``-wal``, and a copy taken while the server writes can mix two states. The
backup API copies the pages of one read transaction: a consistent snapshot, taken while the server
keeps writing (WAL lets the writer go on beside our reader). The copy is then switched to the
rollback journal (one self-contained file), checked with ``PRAGMA integrity_check`` and described
(its migration, its tokens and ledger rows), so a backup that would not restore is known at once.

A restore replaces a store only when nothing has it open: every connection to a WAL database holds
a shared lock for as long as it is open, so a running server (or any other ``pgy`` command) makes
the exclusive lock we ask for fail at once, and the restore is refused. The backup is checked first
(integrity, a pgy-metrics store, a migration this version knows); the old file is kept beside the
new one as ``<name>.before-restore-<UTC time>``.

PostgreSQL stores are backed up with ``pg_dump`` (``postgres_commands``): its own tools are the
consistent, online way, and the docs give the commands.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

__all__ = [
    "BackupError",
    "StoreCopy",
    "StoreInUse",
    "backup_sqlite",
    "describe_copy",
    "known_revisions",
    "postgres_commands",
    "restore_sqlite",
    "sqlite_path",
]

BUSY_TIMEOUT_SECONDS = 10.0
"""How long the backup waits for a writer's lock to start its read (the server's writes are
short); the restore never waits: a store in use is refused at once."""

REQUIRED_TABLES = frozenset({"alembic_version", "tokens", "ledger", "snapshots"})
"""Tables every pgy-metrics store has at every migration: what tells our store from another
SQLite file."""


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


class StoreInUse(BackupError):
    """The target store is open in another process (a running server): it must stop first."""


@dataclass(frozen=True, slots=True)
class StoreCopy:
    """What a checked store file holds, for the command's report."""

    path: Path
    revision: str
    tokens: int
    ledger_rows: int
    size_bytes: int


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite database URL; None for any other database."""
    url: URL = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("the store is an in-memory SQLite database: there is nothing to copy")
    return Path(url.database)


def postgres_commands(database_url: str, target: str) -> list[str]:
    """``pg_dump`` and ``pg_restore`` commands for the store's PostgreSQL database, the password
    left out (``pg_dump`` reads it from ``PGPASSWORD`` or ``~/.pgpass``)."""
    url = make_url(database_url)
    parts = []
    if url.host:
        parts.append(f"--host={url.host}")
    if url.port:
        parts.append(f"--port={url.port}")
    if url.username:
        parts.append(f"--username={url.username}")
    where = " ".join(parts)
    database = url.database or "postgres"
    return [
        f"pg_dump {where} --format=custom --file={target} {database}".replace("  ", " "),
        f"pg_restore {where} --clean --if-exists --single-transaction --dbname={database} "
        f"{target}".replace("  ", " "),
    ]


def known_revisions() -> set[str]:
    """Every migration revision this version of pgy-metrics knows (older stores are migrated
    when the server starts; a newer one was made by a newer version)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from pgy_metrics.store.database import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return {revision.revision for revision in ScriptDirectory.from_config(config).walk_revisions()}


def _connect(path: Path, *, timeout: float, read_only: bool = False) -> sqlite3.Connection:
    uri = f"{path.resolve().as_uri()}?mode={'ro' if read_only else 'rw'}"
    return sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)


def describe_copy(path: Path) -> StoreCopy:
    """Check that ``path`` is a whole pgy-metrics store at a known migration; raise
    ``BackupError`` naming the first thing wrong."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    try:
        with closing(_connect(path, timeout=0, read_only=True)) as connection:
            verdict = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            if verdict != ["ok"]:
                shown = "; ".join(str(line) for line in verdict[:3])
                raise BackupError(f"{path}: the integrity check failed ({shown})")
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            missing = sorted(REQUIRED_TABLES - tables)
            if missing:
                raise BackupError(
                    f"{path}: not a pgy-metrics store (no table {', '.join(missing)})"
                )
            revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            tokens = connection.execute("SELECT count(*) FROM tokens").fetchone()[0]
            ledger_rows = connection.execute("SELECT count(*) FROM ledger").fetchone()[0]
    except sqlite3.DatabaseError as error:  # not a database, encrypted, truncated...
        raise BackupError(f"{path}: not a readable SQLite database ({error})") from None
    if revision is None or revision[0] not in known_revisions():
        shown = "none" if revision is None else repr(revision[0])
        raise BackupError(
            f"{path}: its migration ({shown}) is not one this version of pgy-metrics knows; "
            "restore it with the version that made it"
        )
    return StoreCopy(path, str(revision[0]), int(tokens), int(ledger_rows), path.stat().st_size)


def _partial(target: Path) -> Path:
    return target.with_name(f".{target.name}.partial")


def _copy_pages(source: Path, target: Path) -> None:
    """Copy ``source`` into a new file ``target`` with the backup API, in one step (one read
    transaction: a consistent snapshot even while another process writes), then make the copy
    one self-contained file (rollback journal, no ``-wal``)."""
    partial = _partial(target)
    partial.unlink(missing_ok=True)
    try:
        with (
            closing(_connect(source, timeout=BUSY_TIMEOUT_SECONDS)) as reader,
            closing(sqlite3.connect(partial, isolation_level=None)) as writer,
        ):
            reader.backup(writer)  # pages=-1: every page in one step, one snapshot
            writer.execute("PRAGMA journal_mode=DELETE")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def backup_sqlite(source: Path, target: Path, *, overwrite: bool = False) -> StoreCopy:
    """Copy the store at ``source`` to ``target`` while it is in use, and check the copy."""
    if not source.is_file():
        raise BackupError(f"{source}: no store here (start the server once, or check PGY_DATA_DIR)")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} exists: choose another path, or pass --force to replace it")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent}: no such folder")
    if target.resolve() == source.resolve():
        raise BackupError(f"{target} is the store itself: choose another path")
    try:
        _copy_pages(source, target)
    except sqlite3.Error as error:
        raise BackupError(f"copying {source} failed: {error}") from None
    except OSError as error:
        raise BackupError(f"writing {target} failed: {error.strerror or error}") from None
    return describe_copy(target)


@contextmanager
def _exclusive(path: Path) -> Iterator[sqlite3.Connection]:
    """The store opened with an exclusive lock, or ``StoreInUse`` at once if anything else has
    it open. The old file is folded into one (its ``-wal`` checkpointed) before it is set aside."""
    connection = _connect(path, timeout=0)
    try:
        try:
            connection.execute("PRAGMA locking_mode=EXCLUSIVE")
            connection.execute("BEGIN EXCLUSIVE")
            connection.execute("ROLLBACK")
            connection.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise StoreInUse(
                    f"{path} is in use (a running pgy serve, or another pgy command): stop it, "
                    "then restore"
                ) from None
            raise
        yield connection
    finally:
        connection.close()


def restore_sqlite(
    backup: Path, target: Path, *, now: datetime | None = None
) -> tuple[StoreCopy, Path | None]:
    """Put the checked ``backup`` in place of the store at ``target``; return what was restored
    and where the old store was kept (None when there was none)."""
    describe_copy(backup)  # a bad backup is refused before anything is touched
    if backup.resolve() == target.resolve():
        raise BackupError(f"{backup} is the store itself: nothing to restore")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)  # a new machine: no data folder yet
    except OSError as error:
        raise BackupError(f"{target.parent}: cannot be made ({error.strerror or error})") from None
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    kept: Path | None = None
    try:
        staged = target.with_name(f".{target.name}.restoring")
        _copy_pages(backup, staged)
        if target.exists():
            kept = target.with_name(f"{target.name}.before-restore-{stamp}")
            with _exclusive(target):
                # Held until the file is moved: nothing can open the store in between.
                os.replace(target, kept)
            for suffix in ("-wal", "-shm", "-journal"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(staged, target)
    except sqlite3.Error as error:
        raise BackupError(f"restoring {backup} failed: {error}") from None
    except OSError as error:
        raise BackupError(f"restoring {backup} failed: {error.strerror or error}") from None
    finally:
        target.with_name(f".{target.name}.restoring").unlink(missing_ok=True)
    return describe_copy(target), kept
