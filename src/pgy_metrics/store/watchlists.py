"""Watchlists in the store: lists with a period, their keys, what is due, and how fresh each is.

The store knows nothing of how due times are chosen: callers pass ``next_due_at`` for each key
(``service.watchlists.next_due``). ``claim`` moves a key's due time only if nobody moved it
first (a conditional update), so refreshers in several processes never hand one due time to
collection twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Table, and_, delete, func, select, tuple_, update

from pgy_metrics.store.engine import Database
from pgy_metrics.store.models import SnapshotRow, UTCDateTime, WatchItemRow, WatchlistRow
from pgy_metrics.store.sql import insert_for

lists: Table = WatchlistRow.__table__  # type: ignore[assignment]
items: Table = WatchItemRow.__table__  # type: ignore[assignment]
snapshots: Table = SnapshotRow.__table__  # type: ignore[assignment]

Key = tuple[str, str, str]
"""endpoint name, creator, scope (parameter) key: ``Query.key``."""

DueAt = Callable[[Key, int], datetime]
"""The next due time of a key at a period (seconds)."""


@dataclass(frozen=True, slots=True)
class Watchlist:
    name: str
    period_seconds: int
    created_at: datetime
    updated_at: datetime
    keys: int = 0
    creators: int = 0


@dataclass(frozen=True, slots=True)
class DueItem:
    list_name: str
    endpoint: str
    user_id: str
    params_key: str
    period_seconds: int
    next_due_at: datetime

    @property
    def key(self) -> Key:
        return (self.endpoint, self.user_id, self.params_key)


@dataclass(frozen=True, slots=True)
class ItemState:
    """One key of a list with its period, due time and newest snapshot (any source)."""

    list_name: str
    key: Key
    period_seconds: int
    added_at: datetime
    next_due_at: datetime
    last_collected_at: datetime | None


@dataclass(frozen=True, slots=True)
class Added:
    added: int
    already: int
    previous_period: int | None
    """The list's period before this call when it changed (None: new list or unchanged)."""


class WatchlistRepository:
    """Reads on the store's pool; every write through its writer."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(
        self, name: str, period_seconds: int, keys: Sequence[Key], *, now: datetime, due: DueAt
    ) -> Added:
        """Create or extend a list; a new period re-plans every key of the list."""
        dialect = self._database.dialect

        def write(conn: Connection) -> Added:
            before = conn.execute(
                select(lists.c.period_seconds).where(lists.c.name == name)
            ).scalar()
            conn.execute(
                insert_for(dialect, lists)
                .values(name=name, period_seconds=period_seconds, created_at=now, updated_at=now)
                .on_conflict_do_update(
                    index_elements=["name"],
                    set_={"period_seconds": period_seconds, "updated_at": now},
                )
            )
            changed = before is not None and int(before) != period_seconds
            if changed:
                present = conn.execute(
                    select(items.c.endpoint, items.c.user_id, items.c.params_key).where(
                        items.c.list_name == name
                    )
                ).all()
                for endpoint, user_id, params_key in present:
                    key = (endpoint, user_id, params_key)
                    conn.execute(
                        update(items)
                        .where(_is_item(name, key))
                        .values(next_due_at=due(key, period_seconds))
                    )
            added = 0
            for key in dict.fromkeys(keys):
                inserted = conn.execute(
                    insert_for(dialect, items)
                    .values(
                        list_name=name,
                        endpoint=key[0],
                        user_id=key[1],
                        params_key=key[2],
                        added_at=now,
                        next_due_at=due(key, period_seconds),
                    )
                    .on_conflict_do_nothing()
                    .returning(items.c.user_id)  # rowcount is not reliable here on psycopg
                )
                added += len(inserted.all())
            return Added(
                added=added,
                already=len(dict.fromkeys(keys)) - added,
                previous_period=int(before) if changed and before is not None else None,
            )

        return await self._database.write(write)

    async def lists(self) -> list[Watchlist]:
        """Every list with its number of keys and of creators, by name."""

        def read(conn: Connection) -> list[Watchlist]:
            counted = (
                select(
                    items.c.list_name,
                    func.count().label("keys"),
                    func.count(items.c.user_id.distinct()).label("creators"),
                )
                .group_by(items.c.list_name)
                .subquery()
            )
            rows = conn.execute(
                select(lists, counted.c["keys"], counted.c.creators)
                .outerjoin(counted, counted.c.list_name == lists.c.name)
                .order_by(lists.c.name)
            ).all()
            return [
                Watchlist(
                    name=row.name,
                    period_seconds=int(row.period_seconds),
                    created_at=row.created_at,
                    updated_at=row.updated_at,
                    keys=int(row[4] or 0),
                    creators=int(row.creators or 0),
                )
                for row in rows
            ]

        return await self._database.read(read)

    async def remove_list(self, name: str) -> int | None:
        """Delete a list and its keys: how many keys it had, None if there is no such list."""

        def write(conn: Connection) -> int | None:
            gone = conn.execute(delete(items).where(items.c.list_name == name)).rowcount
            found = conn.execute(delete(lists).where(lists.c.name == name)).rowcount
            return int(gone or 0) if found else None

        return await self._database.write(write)

    async def remove_creators(self, name: str, user_ids: Iterable[str]) -> int | None:
        """Delete every key of these creators from a list: how many, None if no such list."""
        wanted = sorted(set(user_ids))

        def write(conn: Connection) -> int | None:
            if conn.execute(select(lists.c.name).where(lists.c.name == name)).first() is None:
                return None
            removed = 0
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                removed += int(
                    conn.execute(
                        delete(items).where(items.c.list_name == name, items.c.user_id.in_(chunk))
                    ).rowcount
                    or 0
                )
            return removed

        return await self._database.write(write)

    async def due(self, until: datetime, *, limit: int) -> list[DueItem]:
        """Keys whose refresh falls due by ``until``, soonest first."""
        query = (
            select(
                items.c.list_name,
                items.c.endpoint,
                items.c.user_id,
                items.c.params_key,
                lists.c.period_seconds,
                items.c.next_due_at,
            )
            .join(lists, lists.c.name == items.c.list_name)
            .where(items.c.next_due_at <= until)
            .order_by(items.c.next_due_at)
            .limit(limit)
        )
        rows = await self._database.read(lambda conn: conn.execute(query).all())
        return [DueItem(row[0], row[1], row[2], row[3], int(row[4]), row[5]) for row in rows]

    async def claim(self, moves: Sequence[tuple[DueItem, datetime]]) -> list[DueItem]:
        """Move each item's due time from the one read to the one given, if still the one
        read; the items this process moved (and so hands to collection)."""

        def write(conn: Connection) -> list[DueItem]:
            claimed = []
            for item, next_due in moves:
                moved = conn.execute(
                    update(items)
                    .where(
                        _is_item(item.list_name, item.key),
                        items.c.next_due_at == item.next_due_at,
                    )
                    .values(next_due_at=next_due)
                ).rowcount
                if moved:
                    claimed.append(item)
            return claimed

        return await self._database.write(write)

    async def states(self, name: str | None = None) -> list[ItemState]:
        """Every key (of one list) with its newest snapshot's time, whatever its source."""
        newest = (
            select(
                snapshots.c.endpoint,
                snapshots.c.user_id,
                snapshots.c.params_key,
                func.max(snapshots.c.collected_at, type_=UTCDateTime()).label("newest"),
            )
            .where(
                tuple_(snapshots.c.endpoint, snapshots.c.user_id, snapshots.c.params_key).in_(
                    select(items.c.endpoint, items.c.user_id, items.c.params_key)
                )
            )
            .group_by(snapshots.c.endpoint, snapshots.c.user_id, snapshots.c.params_key)
            .subquery()
        )
        query = (
            select(
                items.c.list_name,
                items.c.endpoint,
                items.c.user_id,
                items.c.params_key,
                lists.c.period_seconds,
                items.c.added_at,
                items.c.next_due_at,
                newest.c.newest,
            )
            .join(lists, lists.c.name == items.c.list_name)
            .outerjoin(
                newest,
                and_(
                    newest.c.endpoint == items.c.endpoint,
                    newest.c.user_id == items.c.user_id,
                    newest.c.params_key == items.c.params_key,
                ),
            )
            .order_by(items.c.list_name)
        )
        if name is not None:
            query = query.where(items.c.list_name == name)
        rows = await self._database.read(lambda conn: conn.execute(query).all())
        return [
            ItemState(
                list_name=row[0],
                key=(row[1], row[2], row[3]),
                period_seconds=int(row[4]),
                added_at=row[5],
                next_due_at=row[6],
                last_collected_at=row[7],
            )
            for row in rows
        ]


def _is_item(name: str, key: Key) -> ColumnElement[bool]:
    return and_(
        items.c.list_name == name,
        items.c.endpoint == key[0],
        items.c.user_id == key[1],
        items.c.params_key == key[2],
    )
