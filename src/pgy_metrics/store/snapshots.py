"""Snapshots: every collected answer kept as history; the latest per endpoint + creator +
parameters is served.

The store keys a snapshot by the endpoint's name and a parameter key the endpoint defines (for
``notes_rate``, ``Scope.key``) and knows nothing else of either; how an answer is put on the wire
is the server's business (``server.answers``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, select

from pgy_metrics.store.engine import Database
from pgy_metrics.store.models import SnapshotRow

snapshots: Table = SnapshotRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One collected ``data`` object with its endpoint, parameters, collection time and source."""

    endpoint: str
    """The endpoint's name, e.g. ``notes_rate``."""
    user_id: str
    params_key: str
    """The endpoint's parameters as one stable text key (for ``notes_rate``, ``Scope.key``)."""
    collected_at: datetime
    source: str
    payload: str
    """The ``data`` object as JSON text, exactly as the source returned it."""
    id: int | None = None


class SnapshotRepository:
    """Reads on the store's pool; adds through its writer."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(self, snapshot: Snapshot) -> Snapshot:
        """Store a snapshot; the same snapshot with its new id."""
        statement = snapshots.insert().values(
            endpoint=snapshot.endpoint,
            user_id=snapshot.user_id,
            params_key=snapshot.params_key,
            collected_at=snapshot.collected_at,
            source=snapshot.source,
            payload=snapshot.payload,
        )

        def run(conn: Connection) -> int:
            key = conn.execute(statement).inserted_primary_key
            assert key is not None
            return int(key[0])

        return replace(snapshot, id=await self._database.write(run))

    async def latest(
        self,
        endpoint: str,
        user_id: str,
        params_key: str,
        *,
        sources: Collection[str] | None = None,
    ) -> Snapshot | None:
        """The newest snapshot of this endpoint + creator + parameters (served by
        ``ix_snapshots_latest``); with ``sources``, the newest one collected by one of them."""
        query = _of(endpoint, user_id, params_key)
        if sources is not None:
            query = query.where(snapshots.c.source.in_(sorted(sources)))
        query = query.order_by(snapshots.c.collected_at.desc(), snapshots.c.id.desc()).limit(1)
        row = await self._database.read(lambda conn: conn.execute(query).first())
        return snapshot_of_row(row) if row is not None else None

    async def newest_of_endpoint(self, endpoint: str) -> Snapshot | None:
        """The newest snapshot of an endpoint, any creator and parameters: the docs pages' latest
        successful example (only successful answers are stored). Walks
        ``ix_snapshots_collected_at`` from the newest row, so the first match ends it."""
        query = (
            select(snapshots)
            .where(snapshots.c.endpoint == endpoint)
            .order_by(snapshots.c.collected_at.desc(), snapshots.c.id.desc())
            .limit(1)
        )
        row = await self._database.read(lambda conn: conn.execute(query).first())
        return snapshot_of_row(row) if row is not None else None

    async def history(self, endpoint: str, user_id: str, params_key: str) -> list[Snapshot]:
        """All snapshots of this endpoint + creator + parameters, oldest first."""
        query = _of(endpoint, user_id, params_key).order_by(
            snapshots.c.collected_at, snapshots.c.id
        )
        rows = await self._database.read(lambda conn: conn.execute(query).all())
        return [snapshot_of_row(row) for row in rows]


def _of(endpoint: str, user_id: str, params_key: str) -> Any:
    return select(snapshots).where(
        snapshots.c.endpoint == endpoint,
        snapshots.c.user_id == user_id,
        snapshots.c.params_key == params_key,
    )


def snapshot_of_row(row: Any) -> Snapshot:
    """A ``snapshots`` row (any query selecting its columns) as a ``Snapshot``."""
    return Snapshot(
        endpoint=row.endpoint,
        user_id=row.user_id,
        params_key=row.params_key,
        collected_at=row.collected_at,
        source=row.source,
        payload=row.payload,
        id=row.id,
    )
