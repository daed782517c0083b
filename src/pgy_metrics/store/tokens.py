"""Token rows: created with a hash only, looked up by hash, revoked, listed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pgy_metrics.store.models import TokenRow


class TokenNameTaken(ValueError):
    """A token with this name exists already."""


@dataclass(frozen=True, slots=True)
class Plan:
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
    plan: Plan = Plan()

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def from_row(cls, row: TokenRow) -> TokenRecord:
        return cls(
            id=row.id,
            name=row.name,
            token_hash=row.token_hash,
            is_admin=row.is_admin,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            plan=Plan(
                rate_limit=row.rate_limit,
                daily_quota=row.daily_quota,
                balance=row.balance,
                endpoints=tuple(row.endpoints.split(",")) if row.endpoints else None,
                price=row.price,
                cached_price=row.cached_price,
            ),
        )


class TokenRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(
        self,
        *,
        name: str,
        token_hash: str,
        is_admin: bool,
        created_at: datetime,
        plan: Plan = Plan(),
    ) -> TokenRecord:
        """Add a token; its plan's starting balance is recorded by the caller as a top-up."""
        row = TokenRow(
            name=name,
            token_hash=token_hash,
            is_admin=is_admin,
            created_at=created_at,
            rate_limit=plan.rate_limit,
            daily_quota=plan.daily_quota,
            balance=0 if plan.balance is not None else None,
            endpoints=",".join(plan.endpoints) if plan.endpoints is not None else None,
            price=plan.price,
            cached_price=plan.cached_price,
        )
        try:
            async with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            raise TokenNameTaken(f"a token named {name!r} exists already") from None
        return TokenRecord.from_row(row)

    async def by_hash(self, token_hash: str) -> TokenRecord | None:
        async with self._sessions() as session:
            row = await session.scalar(select(TokenRow).where(TokenRow.token_hash == token_hash))
            return TokenRecord.from_row(row) if row is not None else None

    async def by_name(self, name: str) -> TokenRecord | None:
        async with self._sessions() as session:
            row = await session.scalar(select(TokenRow).where(TokenRow.name == name))
            return TokenRecord.from_row(row) if row is not None else None

    async def list(self) -> list[TokenRecord]:
        async with self._sessions() as session:
            rows = await session.scalars(select(TokenRow).order_by(TokenRow.id))
            return [TokenRecord.from_row(row) for row in rows]

    async def count(self) -> int:
        return len(await self.list())

    async def revoke(self, name: str, *, at: datetime) -> bool:
        """Revoke an active token; False if there is no active token of that name."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(TokenRow)
                .where(TokenRow.name == name, TokenRow.revoked_at.is_(None))
                .values(revoked_at=at)
                .returning(TokenRow.id)
            )
            return result.first() is not None
