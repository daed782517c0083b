"""Health buckets and labels: upstream outcomes per minute, summed over a window on demand."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, func, select

from pgy_metrics.store.engine import Database
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
    """Reads on the store's pool; every write through its writer."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def _insert(self, table: Table) -> Any:
        return insert_for(self._database.dialect, table)

    async def add(self, counts: Mapping[BucketKey, tuple[int, int]]) -> None:
        """Add (ok, failed) counts to their buckets: increments, so processes never collide."""
        if not counts:
            return
        statements = [
            self._insert(buckets)
            .values(
                minute=minute,
                endpoint=endpoint,
                source=source,
                account=account,
                ok=ok,
                failed=failed,
            )
            .on_conflict_do_update(
                index_elements=["minute", "endpoint", "source", "account"],
                set_={"ok": buckets.c.ok + ok, "failed": buckets.c.failed + failed},
            )
            for (minute, endpoint, source, account), (ok, failed) in sorted(counts.items())
        ]

        def run(conn: Connection) -> None:
            for statement in statements:
                conn.execute(statement)

        await self._database.write(run)

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
        rows = await self._database.read(lambda conn: conn.execute(query).all())
        return [Tally(e, s, a, int(ok or 0), int(failed or 0)) for e, s, a, ok, failed in rows]

    async def settle_label(self, subject: str, label: str, *, at: datetime) -> datetime:
        """Remember ``label`` for ``subject``; when it changed (now, if it differs from before)."""
        upsert = (
            self._insert(labels)
            .values(subject=subject, label=label, changed_at=at)
            .on_conflict_do_update(
                index_elements=["subject"], set_={"label": label, "changed_at": at}
            )
        )

        def run(conn: Connection) -> datetime:
            row = conn.execute(
                select(labels.c.label, labels.c.changed_at).where(labels.c.subject == subject)
            ).first()
            if row is not None and row.label == label:
                changed: datetime = row.changed_at
                return changed
            conn.execute(upsert)
            return at

        return await self._database.write(run)

    async def purge(self, *, before_minute: int) -> None:
        statement = buckets.delete().where(buckets.c.minute < before_minute)
        await self._database.write(lambda conn: conn.execute(statement))
