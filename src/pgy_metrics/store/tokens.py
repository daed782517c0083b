"""Token rows: created with a hash only, looked up by hash, revoked, listed."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Table, func, select, update
from sqlalchemy.exc import IntegrityError

from pgy_metrics.store.engine import Database
from pgy_metrics.store.models import ReservationRow, TokenRow

tokens: Table = TokenRow.__table__  # type: ignore[assignment]


class TokenNameTaken(ValueError):
    """A token with this name exists already."""


@dataclass(frozen=True, slots=True)
class BillingPlan:
    """What a token may do. ``None`` everywhere means unlimited and unmetered."""

    rate_limit: str | None = None
    daily_quota: int | None = None
    balance: int | None = None
    endpoints: tuple[str, ...] | None = None
    price: int | None = None
    cached_price: int | None = None

    @property
    def metered(self) -> bool:
        """Calls draw on a prepaid balance."""
        return self.balance is not None


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """What the server knows of a token: never the token itself."""

    id: int
    name: str
    token_hash: str
    is_admin: bool
    created_at: datetime
    revoked_at: datetime | None
    plan: BillingPlan = BillingPlan()

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def from_row(cls, row: TokenRow | Row[Any]) -> TokenRecord:
        return cls(
            id=row.id,
            name=row.name,
            token_hash=row.token_hash,
            is_admin=row.is_admin,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            plan=BillingPlan(
                rate_limit=row.rate_limit,
                daily_quota=row.daily_quota,
                balance=row.balance,
                endpoints=(
                    tuple(name for name in row.endpoints.split(",") if name)
                    if row.endpoints is not None
                    else None
                ),
                price=row.price,
                cached_price=row.cached_price,
            ),
        )


PLAN_CHANGES = ("rate_limit", "daily_quota", "endpoints", "price", "cached_price")
"""Plan fields an operator may change; the balance moves only through the ledger (top-ups)."""


@dataclass(frozen=True, slots=True)
class InFlight:
    """What requests still running hold for a token on a quota day."""

    token_id: int
    day: str
    calls: int
    credits: int


class TokenRepository:
    """Token rows; reads on the store's pool, writes through its writer (Core statements)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(
        self,
        *,
        name: str,
        token_hash: str,
        is_admin: bool,
        created_at: datetime,
        plan: BillingPlan = BillingPlan(),
    ) -> TokenRecord:
        """Add a token; its plan's starting balance is recorded by the caller as a top-up."""
        values = {
            "name": name,
            "token_hash": token_hash,
            "is_admin": is_admin,
            "created_at": created_at,
            "revoked_at": None,
            "rate_limit": plan.rate_limit,
            "daily_quota": plan.daily_quota,
            "balance": 0 if plan.balance is not None else None,
            "endpoints": ",".join(plan.endpoints) if plan.endpoints is not None else None,
            "price": plan.price,
            "cached_price": plan.cached_price,
        }

        def run(conn: Connection) -> Row[Any]:
            return conn.execute(tokens.insert().values(**values).returning(*tokens.c)).one()

        try:
            row = await self._database.write(run)
        except IntegrityError:
            raise TokenNameTaken(f"a token named {name!r} exists already") from None
        return TokenRecord.from_row(row)

    async def by_hash(self, token_hash: str) -> TokenRecord | None:
        return await self._one(select(tokens).where(tokens.c.token_hash == token_hash))

    async def by_name(self, name: str) -> TokenRecord | None:
        return await self._one(select(tokens).where(tokens.c.name == name))

    async def _one(self, query: Any) -> TokenRecord | None:
        row = await self._database.read(lambda conn: conn.execute(query).first())
        return TokenRecord.from_row(row) if row is not None else None

    async def list(self) -> builtins.list[TokenRecord]:
        rows = await self._database.read(
            lambda conn: conn.execute(select(tokens).order_by(tokens.c.id)).all()
        )
        return [TokenRecord.from_row(row) for row in rows]

    async def count(self) -> int:
        return len(await self.list())

    async def revoke(self, name: str, *, at: datetime) -> bool:
        """Revoke an active token; False if there is no active token of that name."""
        statement = (
            update(tokens)
            .where(tokens.c.name == name, tokens.c.revoked_at.is_(None))
            .values(revoked_at=at)
            .returning(tokens.c.id)
        )
        return await self._database.write(lambda conn: conn.execute(statement).first() is not None)

    async def update_plan(self, name: str, *, changes: Mapping[str, object]) -> TokenRecord | None:
        """Set the given plan fields (of ``PLAN_CHANGES``; None lifts a limit or restores the
        server's price); the updated record, or None if no token has this name."""
        unknown = sorted(set(changes) - set(PLAN_CHANGES))
        if unknown:
            raise ValueError(
                f"only {', '.join(PLAN_CHANGES)} may change in a plan; got {', '.join(unknown)}"
            )
        values = dict(changes)
        if "endpoints" in values and values["endpoints"] is not None:
            endpoints = values["endpoints"]
            assert isinstance(endpoints, tuple | list)
            values["endpoints"] = ",".join(str(endpoint) for endpoint in endpoints)
        if not values:
            return await self.by_name(name)
        statement = (
            update(tokens).where(tokens.c.name == name).values(**values).returning(*tokens.c)
        )
        row = await self._database.write(lambda conn: conn.execute(statement).first())
        return TokenRecord.from_row(row) if row is not None else None

    async def in_flight(
        self, *, token_id: int | None = None, since: str | None = None
    ) -> builtins.list[InFlight]:
        """Reservations of requests still running (calls and credits held), per token and day."""
        reservations = ReservationRow
        query = (
            select(
                reservations.token_id,
                reservations.day,
                func.count(),
                func.coalesce(func.sum(reservations.amount), 0),
            )
            .group_by(reservations.token_id, reservations.day)
            .order_by(reservations.day, reservations.token_id)
        )
        if token_id is not None:
            query = query.where(reservations.token_id == token_id)
        if since is not None:
            query = query.where(reservations.day >= since)
        rows = await self._database.read(lambda conn: conn.execute(query).all())
        return [InFlight(int(t), str(d), int(n), int(c)) for t, d, n, c in rows]
