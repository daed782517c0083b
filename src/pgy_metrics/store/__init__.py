"""Persistence: SQLAlchemy 2 async models and queries, Alembic migrations; SQLite or PostgreSQL."""

from pgy_metrics.store.database import Store, default_sqlite_url
from pgy_metrics.store.snapshots import Snapshot
from pgy_metrics.store.tokens import TokenRecord

__all__ = ["Snapshot", "Store", "TokenRecord", "default_sqlite_url"]
