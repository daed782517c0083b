"""Console pools in the store: a holder's uploaded list of creators, its members and the
progress of its background fetch (``server/console/pools.py``, docs/console.md#pools).

A pool and its members are written in one transaction, so an upload is all there or absent.
``start`` claims a fetch with a conditional update (a pool is never fetched by two tasks at
once); ``heartbeat_at`` is touched while a fetch runs, so a fetch whose process died (a server
restart) is told apart from one still running: its heartbeat goes stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, case, func, or_, select, update

from pgy_metrics.store.engine import Database
from pgy_metrics.store.models import PoolMemberRow, PoolRow, SnapshotRow, TokenRow
from pgy_metrics.store.snapshots import Snapshot, snapshot_of_row

pools: Table = PoolRow.__table__  # type: ignore[assignment]
members: Table = PoolMemberRow.__table__  # type: ignore[assignment]
snapshot_rows: Table = SnapshotRow.__table__  # type: ignore[assignment]
tokens: Table = TokenRow.__table__  # type: ignore[assignment]

NEW = "new"
FETCHING = "fetching"
DONE = "done"
PENDING = "pending"
FAILED = "failed"
MAX_REASON_CHARS = 500


@dataclass(frozen=True, slots=True)
class PoolRecord:
    id: int
    token_id: int
    name: str
    state: str
    problems: str
    """The upload's bad rows, JSON: ``[[line, text, reason], ...]``."""
    nonce: str | None
    created_at: datetime
    heartbeat_at: datetime | None
    size: int = 0
    done: int = 0
    failed: int = 0
    owner: str = ""
    """The name of the token the pool belongs to (for an admin's list)."""

    @property
    def remaining(self) -> int:
        return self.size - self.done - self.failed


@dataclass(frozen=True, slots=True)
class Member:
    user_id: str
    position: int
    status: str
    reason: str | None


def _counts() -> Any:
    return (
        select(
            members.c.pool_id,
            func.count().label("size"),
            func.sum(case((members.c.status == DONE, 1), else_=0)).label("done"),
            func.sum(case((members.c.status == FAILED, 1), else_=0)).label("failed"),
        )
        .group_by(members.c.pool_id)
        .subquery()
    )


def _record(row: Any) -> PoolRecord:
    return PoolRecord(
        row.id,
        row.token_id,
        row.name,
        row.state,
        row.problems,
        row.nonce,
        row.created_at,
        row.heartbeat_at,
        int(row.size or 0),
        int(row.done or 0),
        int(row.failed or 0),
        str(getattr(row, "owner", "") or ""),
    )


class PoolRepository:
    """Pool rows; reads on the store's pool, writes through its writer."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def create(
        self,
        *,
        token_id: int,
        name: str,
        user_ids: Sequence[str],
        problems: str,
        now: datetime,
    ) -> int:
        """A new pool with its members (in the order given), in one transaction; its id."""

        def run(conn: Connection) -> int:
            pool_id = conn.execute(
                pools.insert()
                .values(
                    token_id=token_id,
                    name=name,
                    state=NEW,
                    problems=problems,
                    created_at=now,
                )
                .returning(pools.c.id)
            ).scalar_one()
            if user_ids:
                conn.execute(
                    members.insert(),
                    [
                        {"pool_id": pool_id, "user_id": user_id, "position": i, "status": PENDING}
                        for i, user_id in enumerate(user_ids)
                    ],
                )
            return int(pool_id)

        return await self._database.write(run)

    async def get(self, pool_id: int) -> PoolRecord | None:
        counts = _counts()
        query = (
            select(pools, counts.c.size, counts.c.done, counts.c.failed)
            .outerjoin(counts, counts.c.pool_id == pools.c.id)
            .where(pools.c.id == pool_id)
        )
        row = await self._database.read(lambda conn: conn.execute(query).first())
        return _record(row) if row is not None else None

    async def listed(self, token_id: int | None) -> list[PoolRecord]:
        """The pools of ``token_id`` (every pool when None), newest first."""
        counts = _counts()
        query = (
            select(
                pools,
                counts.c.size,
                counts.c.done,
                counts.c.failed,
                tokens.c.name.label("owner"),
            )
            .outerjoin(counts, counts.c.pool_id == pools.c.id)
            .outerjoin(tokens, tokens.c.id == pools.c.token_id)
        )
        if token_id is not None:
            query = query.where(pools.c.token_id == token_id)
        query = query.order_by(pools.c.id.desc())
        rows = await self._database.read(lambda conn: list(conn.execute(query).all()))
        return [_record(row) for row in rows]

    async def members(self, pool_id: int) -> list[Member]:
        query = (
            select(members.c.user_id, members.c.position, members.c.status, members.c.reason)
            .where(members.c.pool_id == pool_id)
            .order_by(members.c.position)
        )
        rows = await self._database.read(lambda conn: list(conn.execute(query).all()))
        return [Member(row.user_id, row.position, row.status, row.reason) for row in rows]

    async def start(
        self, pool_id: int, *, nonce: str, now: datetime, stale_before: datetime
    ) -> str | None:
        """Claim the pool's fetch: it becomes ``fetching`` unless a fetch with a fresh
        heartbeat holds it. The nonce of the first fetch is kept (a resumed fetch reuses it, so
        its idempotency keys replay what was paid). Returns the nonce to use, None if taken."""

        def run(conn: Connection) -> str | None:
            claimed = conn.execute(
                update(pools)
                .where(
                    pools.c.id == pool_id,
                    or_(
                        pools.c.state != FETCHING,
                        pools.c.heartbeat_at.is_(None),
                        pools.c.heartbeat_at < stale_before,
                    ),
                )
                .values(
                    state=FETCHING,
                    nonce=func.coalesce(pools.c.nonce, nonce),
                    heartbeat_at=now,
                )
            ).rowcount
            if not claimed:
                return None
            conn.execute(
                update(members)
                .where(members.c.pool_id == pool_id, members.c.status == FAILED)
                .values(status=PENDING, reason=None)
            )
            kept: str = conn.execute(
                select(pools.c.nonce).where(pools.c.id == pool_id)
            ).scalar_one()
            return kept

        return await self._database.write(run)

    async def mark(self, pool_id: int, user_id: str, *, failed: str | None, now: datetime) -> None:
        """One member fetched (``failed`` None) or failed with its reason; the heartbeat too."""
        statement = (
            update(members)
            .where(members.c.pool_id == pool_id, members.c.user_id == user_id)
            .values(
                status=FAILED if failed is not None else DONE,
                reason=failed[:MAX_REASON_CHARS] if failed is not None else None,
            )
        )
        beat = update(pools).where(pools.c.id == pool_id).values(heartbeat_at=now)

        def run(conn: Connection) -> None:
            conn.execute(statement)
            conn.execute(beat)

        await self._database.write(run)

    async def beat(self, pool_id: int, now: datetime) -> None:
        statement = (
            update(pools)
            .where(pools.c.id == pool_id, pools.c.state == FETCHING)
            .values(heartbeat_at=now)
        )
        await self._database.write(lambda conn: conn.execute(statement))

    async def finish(self, pool_id: int) -> None:
        statement = (
            update(pools).where(pools.c.id == pool_id, pools.c.state == FETCHING).values(state=DONE)
        )
        await self._database.write(lambda conn: conn.execute(statement))

    async def member_ids(self, pool_id: int, token_id: int | None) -> list[str] | None:
        """The members' user ids in upload order; None when the pool does not exist or is not
        ``token_id``'s (any holder's when None: an admin)."""
        owner = select(pools.c.token_id).where(pools.c.id == pool_id)
        query = (
            select(members.c.user_id)
            .where(members.c.pool_id == pool_id)
            .order_by(members.c.position)
        )

        def run(conn: Connection) -> list[str] | None:
            holder = conn.execute(owner).scalar_one_or_none()
            if holder is None or (token_id is not None and holder != token_id):
                return None
            return [str(user_id) for user_id in conn.execute(query).scalars()]

        return await self._database.read(run)

    async def snapshots(
        self, endpoint: str, user_ids: Sequence[str], params_keys: Sequence[str] | None = None
    ) -> list[Snapshot]:
        """The latest stored snapshot of ``endpoint`` for each of ``user_ids`` and scope key
        (only ``params_keys`` when given): what a pool's benchmark reads."""
        if not user_ids:
            return []
        conditions = [snapshot_rows.c.endpoint == endpoint, snapshot_rows.c.user_id.in_(user_ids)]
        if params_keys is not None:
            conditions.append(snapshot_rows.c.params_key.in_(params_keys))
        latest = (
            select(
                snapshot_rows.c.user_id,
                snapshot_rows.c.params_key,
                func.max(snapshot_rows.c.id).label("id"),
            )
            .where(and_(*conditions))
            .group_by(snapshot_rows.c.user_id, snapshot_rows.c.params_key)
            .subquery()
        )
        query = (
            select(snapshot_rows)
            .where(snapshot_rows.c.id.in_(select(latest.c.id)))
            .order_by(snapshot_rows.c.user_id, snapshot_rows.c.params_key)
        )
        rows = await self._database.read(lambda conn: list(conn.execute(query).all()))
        return [snapshot_of_row(row) for row in rows]
