"""Health buckets and labels: upstream outcomes per minute, summed over a window on demand."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from pgy_metrics.store.models import HealthBucketRow, HealthLabelRow
from pgy_metrics.store.sql import insert_for

buckets: Table = HealthBucketRow.__table__  # type: ignore[assignment]
labels: Table = HealthLabelRow.__table__  # type: ignore[assignment]

BucketKey = tuple[int, str, str, str]
"""(minute, endpoint, source, account)"""


@dataclass(frozen=True, slots=True)
class Tally:
    endpoint: str
    source: str
    account: str
    ok: int
    failed: int

    @property
    def calls(self) -> int:
        return self.ok + self.failed


class HealthRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def _insert(self) -> Any:
        return insert_for(self._engine.dialect.name, buckets)

    async def add(self, counts: Mapping[BucketKey, tuple[int, int]]) -> None:
        """Add (ok, failed) counts to their buckets: increments, so processes never collide."""
        if not counts:
            return
        async with self._engine.begin() as connection:
            for (minute, endpoint, source, account), (ok, failed) in sorted(counts.items()):
                statement = self._insert().values(
                    minute=minute,
                    endpoint=endpoint,
                    source=source,
                    account=account,
                    ok=ok,
                    failed=failed,
                )
                await connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=["minute", "endpoint", "source", "account"],
                        set_={"ok": buckets.c.ok + ok, "failed": buckets.c.failed + failed},
                    )
                )

    async def tallies(self, *, since_minute: int) -> list[Tally]:
        """Outcomes summed per (endpoint, source, account) since the given minute."""
        query = (
            select(
                buckets.c.endpoint,
                buckets.c.source,
                buckets.c.account,
                func.sum(buckets.c.ok),
                func.sum(buckets.c.failed),
            )
            .where(buckets.c.minute >= since_minute)
            .group_by(buckets.c.endpoint, buckets.c.source, buckets.c.account)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [Tally(e, s, a, int(ok or 0), int(failed or 0)) for e, s, a, ok, failed in rows]

    async def settle_label(self, subject: str, label: str, *, at: datetime) -> datetime:
        """Remember ``label`` for ``subject``; when it changed (now, if it differs from before)."""
        async with self._engine.begin() as connection:
            row = (
                await connection.execute(
                    select(labels.c.label, labels.c.changed_at).where(labels.c.subject == subject)
                )
            ).first()
            if row is not None and row.label == label:
                changed: datetime = row.changed_at
                return changed
            insert = insert_for(self._engine.dialect.name, labels)
            await connection.execute(
                insert.values(subject=subject, label=label, changed_at=at).on_conflict_do_update(
                    index_elements=["subject"], set_={"label": label, "changed_at": at}
                )
            )
            return at

    async def purge(self, *, before_minute: int) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(buckets.delete().where(buckets.c.minute < before_minute))
