"""``pgy backup PATH`` and ``pgy restore PATH``: the SQLite store copied while the server runs,
and put back once it is stopped (``store.backup`` says how and why). For PostgreSQL both explain
the ``pg_dump`` / ``pg_restore`` commands instead: the database's own tools do it online."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from pgy_metrics.cli.common import load_settings
from pgy_metrics.cli.messages import FAILED_EXIT, error, say

if TYPE_CHECKING:
    from pgy_metrics.store.backup import StoreCopy


def _store_file(command: str, target: Path) -> Path:
    """The configured store's SQLite file; for PostgreSQL, the commands to use, then exit 1."""
    from pgy_metrics.store.backup import BackupError, postgres_commands, sqlite_path

    url = load_settings().resolved_database_url
    try:
        path = sqlite_path(url)
    except BackupError as problem:
        raise _failed(str(problem)) from None
    if path is None:
        dump, restore = postgres_commands(url, str(target))
        error(
            f"pgy {command} copies SQLite stores; this store is PostgreSQL (PGY_DATABASE_URL). "
            "Use its own tools, which work while the server runs (see docs/backups.md):"
        )
        say(f"  back up:  {dump}")
        say(f"  restore:  {restore}  (with every server stopped)")
        raise typer.Exit(FAILED_EXIT)
    return path


def _failed(message: str) -> typer.Exit:
    error(message)
    return typer.Exit(FAILED_EXIT)


def _described(copy: StoreCopy) -> str:
    return (
        f"migration {copy.revision}, {copy.tokens} tokens, {copy.ledger_rows} ledger rows, "
        f"{copy.size_bytes:,} bytes"
    )


def backup(
    path: Path = typer.Argument(..., help="The file to write the copy to.", metavar="PATH"),
    force: bool = typer.Option(False, "--force", help="Replace PATH if it exists."),
) -> None:
    """Copy the SQLite store to PATH while the server keeps running (SQLite's backup API: one
    consistent snapshot), then check the copy. Exits 0 with what the copy holds, or 1."""
    from pgy_metrics.store.backup import BackupError, backup_sqlite

    store = _store_file("backup", path)
    try:
        copy = backup_sqlite(store, path, overwrite=force)
    except BackupError as problem:
        raise _failed(str(problem)) from None
    say(f"Backed up {store} to {copy.path}: {_described(copy)}.")


def restore(
    path: Path = typer.Argument(..., help="A file made by pgy backup.", metavar="PATH"),
) -> None:
    """Put the backup at PATH in place of the SQLite store. Refused while anything has the store
    open (stop the server first) and unless PATH passes an integrity check and is a pgy-metrics
    store at a known migration. The old store is kept beside it. Exits 0, or 1."""
    from pgy_metrics.store.backup import BackupError, restore_sqlite

    store = _store_file("restore", path)
    try:
        copy, kept = restore_sqlite(path, store)
    except BackupError as problem:
        raise _failed(str(problem)) from None
    say(f"Restored {path} to {store}: {_described(copy)}.")
    if kept is not None:
        say(f"The store it replaced is kept as {kept}.")
    _warn_without_pepper()


def _warn_without_pepper() -> None:
    """Restored onto a machine without the token pepper, the next start would make a new one and
    every restored token would stop working: say so before anyone starts the server."""
    from pgy_metrics.service.tokens import PEPPER_FILE

    settings = load_settings()
    pepper = settings.data_dir / PEPPER_FILE
    if settings.token_pepper is None and not pepper.exists():
        say(
            f"warning: there is no token pepper here ({pepper}, or PGY_TOKEN_PEPPER): put back "
            "the pepper of the server that made the backup before starting pgy serve, or no "
            "restored token will work (docs/backups.md).",
            style="yellow",
        )
