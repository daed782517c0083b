"""Tables. Changing one means writing an Alembic migration under ``migrations/versions``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class TokenRow(Base):
    """An API token. Only its keyed hash is stored; the token itself is shown once, at creation."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The plan. NULL means "no limit of this kind" (an operator's own team rarely meters itself).
    rate_limit: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """Rate limits in ``limits`` syntax, e.g. ``10/second;300/minute``."""
    daily_quota: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    balance: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """Prepaid credits still available (reserved credits already deducted). NULL: unmetered."""
    endpoints: Mapped[str | None] = mapped_column(String(500), nullable=True)
    """Comma-separated endpoint names this token may call; NULL: all of them."""
    price: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    cached_price: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class SnapshotRow(Base):
    """One collected answer of an endpoint for a creator + parameters. History: rows are added,
    never overwritten."""

    __tablename__ = "snapshots"
    __table_args__ = (
        Index("ix_snapshots_latest", "endpoint", "user_id", "params_key", "collected_at"),
        Index("ix_snapshots_collected_at", "collected_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    endpoint: Mapped[str] = mapped_column(String(40))
    """The endpoint's name, e.g. ``notes_rate``."""
    user_id: Mapped[str] = mapped_column(String(24))
    params_key: Mapped[str] = mapped_column(String(200))
    """The endpoint's parameters as one text key (for ``notes_rate``, ``Scope.key``)."""
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    """The upstream ``data`` object as JSON text, byte for byte as received (JSONB would reorder
    keys and respell floats, breaking the pass-through promise)."""


class UsageDayRow(Base):
    """Calls counted against a token's quota per day (in the quota time zone)."""

    __tablename__ = "usage_days"

    token_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    """Successful (billed) calls."""
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    """Calls in flight holding a quota slot."""
    credits: Mapped[int] = mapped_column(BigInteger, default=0)
    """Credits charged that day."""


class ReservationRow(Base):
    """Credits and a quota slot held for a request in flight; captured or released, or reaped."""

    __tablename__ = "reservations"
    __table_args__ = (Index("ix_reservations_created_at", "created_at"),)

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[int] = mapped_column(BigId)
    day: Mapped[str] = mapped_column(String(10))
    amount: Mapped[int] = mapped_column(BigInteger)
    quota_slot: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerRow(Base):
    """Every movement of credits: charges for successful calls and top-ups. Append-only."""

    __tablename__ = "ledger"
    __table_args__ = (Index("ix_ledger_token_created", "token_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    token_id: Mapped[int] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(10))
    """``charge`` (a successful call) or ``topup`` (credits added)."""
    amount: Mapped[int] = mapped_column(BigInteger)
    """Credits, always >= 0; the kind says which way they moved."""
    endpoint: Mapped[str | None] = mapped_column(String(40), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(24), nullable=True)
    scope_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    cached: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    day: Mapped[str | None] = mapped_column(String(10), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IdempotencyKeyRow(Base):
    """The first successful answer to a request carrying an ``Idempotency-Key``."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    token_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(10))
    """``pending`` while the first request runs, ``done`` once its answer is stored."""
    response: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    source: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HealthBucketRow(Base):
    """Upstream outcomes per minute, per endpoint, source and account (shared by processes).

    ``source`` is empty for the endpoint as a whole; ``account`` is empty for the source as a whole
    and ``-`` for the attempts of a source without accounts.
    """

    __tablename__ = "health_buckets"

    minute: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    """Minutes since the Unix epoch (UTC)."""
    endpoint: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    account: Mapped[str] = mapped_column(String(100), primary_key=True)
    ok: Mapped[int] = mapped_column(BigInteger, default=0)
    failed: Mapped[int] = mapped_column(BigInteger, default=0)


class HealthLabelRow(Base):
    """The last label shown for a subject and when it changed (the status page shows both)."""

    __tablename__ = "health_labels"

    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    label: Mapped[str] = mapped_column(String(30))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConsoleSessionRow(Base):
    """A signed-in web console session (``/console``). Only a keyed hash of the session id is
    stored (as for tokens): a leaked database cannot be turned into a cookie."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index("ix_console_sessions_expires_at", "expires_at"),)

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[int] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WatchlistRow(Base):
    """A named watchlist and how often its keys are refreshed (``pgy watch``)."""

    __tablename__ = "watchlists"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    period_seconds: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WatchItemRow(Base):
    """One endpoint × creator × scope key of a watchlist and when its next refresh is due.

    ``next_due_at`` moves one period on each time the refresher hands the key to collection;
    each key's due times sit at a stable offset within the period (``service.watchlists``), so
    a list's refreshes are spread over the period instead of coming in one burst."""

    __tablename__ = "watch_items"
    __table_args__ = (Index("ix_watch_items_next_due_at", "next_due_at"),)

    list_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    params_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PoolRow(Base):
    """A console pool (``/console/pools``): an uploaded list of creators, its holder and the
    state of its background fetch. ``problems`` keeps the upload's bad rows (JSON) so the
    pool's page lists them after the upload; ``nonce`` is the fetch's idempotency nonce, kept so
    a resumed fetch replays what was paid instead of paying again; ``heartbeat_at`` is touched
    while a fetch runs (a stale one after a restart reads as interrupted)."""

    __tablename__ = "pools"
    __table_args__ = (Index("ix_pools_token_id", "token_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_id: Mapped[int] = mapped_column(BigId)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20))
    problems: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class PoolMemberRow(Base):
    """One creator of a pool, in upload order, with its fetch status (``pending``, ``done``,
    ``failed``) and, when failed, why."""

    __tablename__ = "pool_members"

    pool_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
