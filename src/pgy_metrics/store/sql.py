"""SQL that differs by backend, in one place: dialect-specific inserts and prepared statements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Dialect, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement


def insert_for(dialect: str, table: Table) -> Any:
    """An INSERT with ``on_conflict_do_nothing``/``on_conflict_do_update`` for this backend
    (SQLite and PostgreSQL spell the clause the same, but SQLAlchemy builds it per dialect)."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A statement compiled once by SQLAlchemy for one dialect, run on the driver's cursor.

    The hot statements of a paid request skip SQLAlchemy's per-execution work, which costs several
    times the database's own (measured on SQLite: ~25 µs per ``Connection.execute(text(...))``,
    ~3 µs on the cursor). The SQL and its parameter style still come from SQLAlchemy's compiler
    (``?`` in order for sqlite3, ``%(name)s`` for psycopg); the transaction is the connection's.
    Values are passed as the driver takes them: no type processing (see ``Ledger._when``).
    """

    sql: str
    positions: tuple[str, ...] | None
    """Parameter names in order for a positional driver; None when the driver takes a mapping."""

    @classmethod
    def compile(cls, statement: ClauseElement, dialect: Dialect) -> Prepared:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        positions = tuple(compiled.positiontup or ()) if dialect.positional else None
        return cls(compiled.string, positions)

    def run_many(self, conn: Connection, rows: list[Mapping[str, Any]]) -> None:
        """Execute once per row (the driver's ``executemany``) in ``conn``'s transaction."""
        positions = self.positions
        arguments: Any = (
            [[row[name] for name in positions] for row in rows] if positions is not None else rows
        )
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(self.sql, arguments)
        finally:
            cursor.close()

    def run(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Execute in ``conn``'s transaction; the first row, or None."""
        arguments: Any = (
            [params[name] for name in self.positions] if self.positions is not None else params
        )
        cursor = conn.connection.cursor()
        try:
            cursor.execute(self.sql, arguments)
            row = cursor.fetchone() if cursor.description else None
        finally:
            cursor.close()
        return tuple(row) if row is not None else None
