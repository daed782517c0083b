"""Snapshots a token has paid for: what the console may show or plan with for its holder.

A holder sees the stored answers of a creator and endpoint only once the ledger holds a charge
of that endpoint for that creator to the holder's token (a look-up through the creator page, the
API, a batch): data collected for another holder is never handed over for free, and nothing is
fetched here. An admin (``token_id`` None) reads every stored answer, as the creator page's pool
does (``SessionRepository.looked_up_snapshots``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, Table, select

from pgy_metrics.store.engine import Database
from pgy_metrics.store.models import LedgerRow, SnapshotRow
from pgy_metrics.store.snapshots import Snapshot, snapshot_of_row

ledger: Table = LedgerRow.__table__  # type: ignore[assignment]
snapshot_rows: Table = SnapshotRow.__table__  # type: ignore[assignment]

__all__ = ["paid_snapshots"]


async def paid_snapshots(
    database: Database,
    *,
    token_id: int | None,
    endpoint: str,
    user_ids: Sequence[str],
    params_key: str | None = None,
) -> list[Snapshot]:
    """Every stored snapshot of ``endpoint`` (of ``params_key`` when given) of those of
    ``user_ids`` charged to ``token_id`` for that endpoint (all of them when None), oldest
    first."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return []
    query = select(snapshot_rows).where(
        snapshot_rows.c.endpoint == endpoint, snapshot_rows.c.user_id.in_(wanted)
    )
    if params_key is not None:
        query = query.where(snapshot_rows.c.params_key == params_key)
    if token_id is not None:
        charged = select(ledger.c.user_id).where(
            ledger.c.kind == "charge",
            ledger.c.token_id == token_id,
            ledger.c.endpoint == endpoint,
            ledger.c.user_id.in_(wanted),
        )
        query = query.where(snapshot_rows.c.user_id.in_(charged))
    query = query.order_by(snapshot_rows.c.collected_at, snapshot_rows.c.id)

    def run(conn: Connection) -> list[Row[Any]]:
        return list(conn.execute(query).all())

    rows = await database.read(run)
    return [snapshot_of_row(row) for row in rows]
