"""SQL that differs by backend, in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_for(dialect: str, table: Table) -> Any:
    """An INSERT with ``on_conflict_do_nothing``/``on_conflict_do_update`` for this backend
    (SQLite and PostgreSQL spell the clause the same, but SQLAlchemy builds it per dialect)."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
