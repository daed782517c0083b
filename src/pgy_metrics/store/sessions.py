"""Web console sessions (``/console``): stored by keyed hash, resolved with their token in one
query, deleted on sign-out, purged once expired.

A session resolves only while it has not expired and its token is active: revoking a token ends
its console sessions at once, with no second list to keep in step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Table, delete, func, select

from pgy_metrics.store.engine import Database
from pgy_metrics.store.models import ConsoleSessionRow, LedgerRow, SnapshotRow, TokenRow
from pgy_metrics.store.snapshots import Snapshot, snapshot_of_row
from pgy_metrics.store.tokens import TokenRecord

sessions: Table = ConsoleSessionRow.__table__  # type: ignore[assignment]
tokens: Table = TokenRow.__table__  # type: ignore[assignment]
ledger: Table = LedgerRow.__table__  # type: ignore[assignment]
snapshot_rows: Table = SnapshotRow.__table__  # type: ignore[assignment]


class SessionRepository:
    """Console session rows; reads on the store's pool, writes through its writer."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(
        self, *, session_hash: str, token_id: int, created_at: datetime, expires_at: datetime
    ) -> None:
        statement = sessions.insert().values(
            session_hash=session_hash,
            token_id=token_id,
            created_at=created_at,
            expires_at=expires_at,
        )
        await self._database.write(lambda conn: conn.execute(statement))

    async def resolve(self, session_hash: str, *, now: datetime) -> TokenRecord | None:
        """The active token of an unexpired session, or None."""
        query = (
            select(tokens)
            .join(sessions, sessions.c.token_id == tokens.c.id)
            .where(
                sessions.c.session_hash == session_hash,
                sessions.c.expires_at > now,
                tokens.c.revoked_at.is_(None),
            )
        )
        row = await self._database.read(lambda conn: conn.execute(query).first())
        return TokenRecord.from_row(row) if row is not None else None

    async def delete(self, session_hash: str) -> bool:
        """End a session (sign-out); False if there was none."""
        statement = delete(sessions).where(sessions.c.session_hash == session_hash)
        return await self._database.write(lambda conn: conn.execute(statement).rowcount > 0)

    async def purge(self, *, before: datetime) -> int:
        """Forget sessions that expired before ``before``; how many."""
        statement = delete(sessions).where(sessions.c.expires_at <= before)
        return await self._database.write(lambda conn: int(conn.execute(statement).rowcount))

    async def looked_up_snapshots(
        self, *, token_id: int | None, endpoint: str, creators: int
    ) -> list[Snapshot]:
        """Every stored snapshot of ``endpoint`` of the ``creators`` creators most recently
        charged to ``token_id`` (every token's when None): the console's "creators you looked
        up" pool, data its holder has already paid for."""
        charged = select(ledger.c.user_id).where(
            ledger.c.kind == "charge",
            ledger.c.endpoint == endpoint,
            ledger.c.user_id.is_not(None),
        )
        if token_id is not None:
            charged = charged.where(ledger.c.token_id == token_id)
        recent = (
            charged.group_by(ledger.c.user_id)
            .order_by(func.max(ledger.c.created_at).desc())
            .limit(creators)
            .subquery()
        )
        query = (
            select(snapshot_rows)
            .where(
                snapshot_rows.c.endpoint == endpoint,
                snapshot_rows.c.user_id.in_(select(recent.c.user_id)),
            )
            .order_by(snapshot_rows.c.collected_at, snapshot_rows.c.id)
        )

        def run(conn: Connection) -> list[Row[Any]]:
            return list(conn.execute(query).all())

        rows = await self._database.read(run)
        return [snapshot_of_row(row) for row in rows]
