"""Snapshots: every collected answer kept as history; the latest per creator + scope is served."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pgy_metrics.contract.params import Scope
from pgy_metrics.store.models import SnapshotRow


@dataclass(frozen=True)
class Snapshot:
    """One collected ``data`` object with its scope, collection time and source."""

    user_id: str
    scope: Scope
    collected_at: datetime
    source: str
    payload: str
    """The ``data`` object as JSON text, exactly as the source returned it."""
    id: int | None = None


class SnapshotRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, snapshot: Snapshot) -> Snapshot:
        scope = snapshot.scope
        row = SnapshotRow(
            user_id=snapshot.user_id,
            scope_key=scope.key,
            business=scope.business.value,
            note_type=scope.note_type.value,
            date_type=scope.date_type.value,
            advertise_switch=scope.advertise_switch.value,
            collected_at=snapshot.collected_at,
            source=snapshot.source,
            payload=snapshot.payload,
        )
        async with self._sessions.begin() as session:
            session.add(row)
        return Snapshot(
            user_id=snapshot.user_id,
            scope=scope,
            collected_at=snapshot.collected_at,
            source=snapshot.source,
            payload=snapshot.payload,
            id=row.id,
        )

    async def latest(
        self, user_id: str, scope: Scope, *, sources: Collection[str] | None = None
    ) -> Snapshot | None:
        """The newest snapshot of this creator + scope (served by ``ix_snapshots_latest``);
        with ``sources``, the newest one collected by one of them."""
        query = select(SnapshotRow).where(
            SnapshotRow.user_id == user_id, SnapshotRow.scope_key == scope.key
        )
        if sources is not None:
            query = query.where(SnapshotRow.source.in_(sorted(sources)))
        async with self._sessions() as session:
            row = await session.scalar(
                query.order_by(SnapshotRow.collected_at.desc(), SnapshotRow.id.desc()).limit(1)
            )
            return _snapshot(row) if row is not None else None

    async def history(self, user_id: str, scope: Scope) -> list[Snapshot]:
        """All snapshots of this creator + scope, oldest first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(SnapshotRow)
                .where(SnapshotRow.user_id == user_id, SnapshotRow.scope_key == scope.key)
                .order_by(SnapshotRow.collected_at, SnapshotRow.id)
            )
            return [_snapshot(row) for row in rows]


def _snapshot(row: SnapshotRow) -> Snapshot:
    return Snapshot(
        user_id=row.user_id,
        scope=Scope.from_key(row.scope_key),
        collected_at=row.collected_at,
        source=row.source,
        payload=row.payload,
        id=row.id,
    )
