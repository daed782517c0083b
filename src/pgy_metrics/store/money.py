"""Money, quotas and idempotency keys: decided by the database, exactly, under concurrency.

Every decision is a conditional statement (``UPDATE ... WHERE balance >= :price RETURNING``,
``INSERT ... ON CONFLICT DO NOTHING RETURNING``), never a read followed by a write in Python, so
it stays exact with many requests in flight and several server processes on one database.

A call's money moves in two steps. ``reserve`` takes a quota slot and the price out of the balance
(or refuses: quota first, then balance). ``capture`` turns the reservation into a ledger row and a
counted call, in one transaction with the idempotent answer; ``release`` gives everything back.
A reservation whose process died is released by ``reap``.

Every operation here is one write handed to the store's writer thread (``engine.Database``),
committed in a group with the other writes waiting at that moment. The statements of a paid
request are ``text()`` constructs with bound parameters, compiled once per dialect by SQLAlchemy
(``sql.Prepared``); the rest are Core constructs.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select, text, update

from pgy_metrics.store.engine import Database
from pgy_metrics.store.models import (
    IdempotencyKeyRow,
    LedgerRow,
    ReservationRow,
    TokenRow,
    UsageDayRow,
)
from pgy_metrics.store.sql import Prepared, insert_for

tokens: Table = TokenRow.__table__  # type: ignore[assignment]
usage: Table = UsageDayRow.__table__  # type: ignore[assignment]
reservations: Table = ReservationRow.__table__  # type: ignore[assignment]
ledger: Table = LedgerRow.__table__  # type: ignore[assignment]
idempotency: Table = IdempotencyKeyRow.__table__  # type: ignore[assignment]


STATEMENTS = {
    "ensure_usage": (
        "INSERT INTO usage_days (token_id, day, calls, reserved, credits) "
        "VALUES (:token_id, :day, 0, 0, 0) ON CONFLICT (token_id, day) DO NOTHING"
    ),
    "take_slot": (
        "UPDATE usage_days SET reserved = reserved + 1 WHERE token_id = :token_id "
        "AND day = :day AND calls + reserved < :quota RETURNING reserved"
    ),
    "return_slot": (
        "UPDATE usage_days SET reserved = reserved - 1 "
        "WHERE token_id = :token_id AND day = :day AND reserved > 0"
    ),
    "count_call": (
        "INSERT INTO usage_days (token_id, day, calls, reserved, credits) "
        "VALUES (:token_id, :day, 1, 0, :amount) ON CONFLICT (token_id, day) DO UPDATE SET "
        "calls = usage_days.calls + 1, credits = usage_days.credits + :amount, "
        "reserved = usage_days.reserved - :release"
    ),
    "count_calls": (
        "INSERT INTO usage_days (token_id, day, calls, reserved, credits) "
        "VALUES (:token_id, :day, :calls, 0, :amount) ON CONFLICT (token_id, day) DO UPDATE SET "
        "calls = usage_days.calls + :calls, credits = usage_days.credits + :amount"
    ),
    "count_within_quota": (
        "UPDATE usage_days SET calls = calls + 1, credits = credits + :amount "
        "WHERE token_id = :token_id AND day = :day AND calls + reserved < :quota RETURNING calls"
    ),
    "uncount": (
        "UPDATE usage_days SET calls = calls - 1, credits = credits - :amount "
        "WHERE token_id = :token_id AND day = :day"
    ),
    "pay": (
        "UPDATE tokens SET balance = balance - :amount "
        "WHERE id = :token_id AND balance >= :amount RETURNING balance"
    ),
    "refund": "UPDATE tokens SET balance = balance + :amount WHERE id = :token_id",
    "add_reservation": (
        "INSERT INTO reservations (request_id, token_id, day, amount, quota_slot, created_at) "
        "VALUES (:request_id, :token_id, :day, :amount, :quota_slot, :created_at)"
    ),
    # returns (token_id, day, amount, quota_slot)
    "take_reservation": (
        "DELETE FROM reservations WHERE request_id = :request_id "
        "RETURNING token_id, day, amount, quota_slot"
    ),
    "ledger": (
        "INSERT INTO ledger (request_id, token_id, kind, amount, endpoint, user_id, scope_key, "
        "cached, day, created_at) VALUES (:request_id, :token_id, 'charge', :amount, :endpoint, "
        ":user_id, :scope_key, :cached, :day, :created_at)"
    ),
    "store_answer": (
        "UPDATE idempotency_keys SET state = 'done', response = :response, source = :source "
        "WHERE token_id = :token_id AND key = :key"
    ),
}
"""The statements on every paid request, written once for both SQLite and PostgreSQL (``text()``
with bound ``:name`` parameters; SQLAlchemy compiles them to each driver's style)."""
HELD_AMOUNT, HELD_SLOT = 2, 3
"""Positions in the row ``take_reservation`` returns."""


def _prepare(dialect: Any) -> dict[str, Prepared]:
    return {name: Prepared.compile(text(sql), dialect) for name, sql in STATEMENTS.items()}


class Refusal(enum.Enum):
    """Why a reservation was refused, in the order the checks run."""

    QUOTA = "quota"
    BALANCE = "balance"


@dataclass(frozen=True, slots=True)
class Reservation:
    request_id: str
    token_id: int
    day: str
    amount: int
    quota_slot: bool


@dataclass(frozen=True, slots=True)
class Charge:
    """What ``capture`` writes to the ledger for one successful call."""

    request_id: str
    token_id: int
    amount: int
    day: str
    endpoint: str
    user_id: str
    scope_key: str
    cached: bool
    at: datetime


class ClaimState(enum.Enum):
    OWNER = "owner"
    """This request is the first with the key: it runs and stores its answer."""
    REPLAY = "replay"
    """An answer is stored: send it again, charge nothing."""
    MISMATCH = "mismatch"
    """The key was used with other parameters."""
    WAIT = "wait"
    """Another request with the key is running."""


@dataclass(frozen=True, slots=True)
class Claim:
    state: ClaimState
    response: bytes | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class UsageDay:
    token_id: int
    day: str
    calls: int
    reserved: int
    credits: int


class Ledger:
    """The money operations, each awaited by a request, committed in groups by the writer."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._dialect = database.dialect
        self._statements = _prepare(database.engine.dialect)
        self._submit = database.write
        self._read = database.read

    # -- decisions -------------------------------------------------------------------------

    async def reserve(
        self,
        *,
        request_id: str,
        token_id: int,
        day: str,
        price: int,
        metered: bool,
        daily_quota: int | None,
        at: datetime,
    ) -> Reservation | Refusal:
        """Hold a quota slot (if the plan has a quota) and the price (if metered), or refuse."""

        def run(conn: Connection) -> Reservation | Refusal:
            sql = self._sql
            quota_slot = False
            if daily_quota is not None:
                slot = {"token_id": token_id, "day": day, "quota": daily_quota}
                if sql(conn, "take_slot", **slot) is None:
                    # No row yet today (the first call), or the quota is used up.
                    sql(conn, "ensure_usage", token_id=token_id, day=day)
                    if sql(conn, "take_slot", **slot) is None:
                        return Refusal.QUOTA
                quota_slot = True
            amount = 0
            if metered:
                if sql(conn, "pay", token_id=token_id, amount=price) is None:
                    if quota_slot:  # undo this operation's slot; the batch goes on
                        sql(conn, "return_slot", token_id=token_id, day=day)
                    return Refusal.BALANCE
                amount = price
            sql(
                conn,
                "add_reservation",
                request_id=request_id,
                token_id=token_id,
                day=day,
                amount=amount,
                quota_slot=quota_slot,
                created_at=self._when(at),
            )
            return Reservation(request_id, token_id, day, amount, quota_slot)

        return await self._submit(run)

    async def capture(
        self,
        charge: Charge,
        *,
        metered: bool,
        reserved: bool,
        idempotency_key: str | None = None,
        response: bytes | None = None,
        source: str | None = None,
    ) -> bool:
        """Charge one successful call: ledger row, counted call, stored answer, one transaction.

        Returns False (nothing written) if the reservation had been reaped meanwhile and the
        balance can no longer pay: the caller answers 601 instead of giving data away.
        """

        def run(conn: Connection) -> bool:
            sql = self._sql
            held = sql(conn, "take_reservation", request_id=charge.request_id) if reserved else None
            if metered:
                if held is None:  # reaped (or never reserved): pay now, conditionally
                    if sql(conn, "pay", token_id=charge.token_id, amount=charge.amount) is None:
                        return False
                elif held[HELD_AMOUNT] != charge.amount:  # a cached answer may cost less
                    back = held[HELD_AMOUNT] - charge.amount
                    sql(conn, "refund", token_id=charge.token_id, amount=back)
            release = 1 if held is not None and held[HELD_SLOT] else 0
            self._count_call(conn, charge, release=release)
            self._finish(conn, charge, idempotency_key, response, source)
            return True

        return await self._submit(run)

    async def charge(
        self,
        charge: Charge,
        *,
        metered: bool,
        daily_quota: int | None,
        idempotency_key: str | None = None,
        response: bytes | None = None,
        source: str | None = None,
    ) -> Refusal | None:
        """Reserve and capture at once, for an answer already in hand (a cached snapshot).

        A reservation only guards the time spent collecting; with nothing left to collect the
        same conditional statements decide quota and balance and write the ledger row in one
        transaction. Returns the refusal, or None when charged.
        """

        if not metered and daily_quota is None and idempotency_key is None:
            # Nothing can refuse it: written together with the batch's other such charges.
            return await self._database.write_together(self._charge_together, charge)

        def run(conn: Connection) -> Refusal | None:
            sql = self._sql
            where = {"token_id": charge.token_id, "day": charge.day, "amount": charge.amount}
            counted = False
            if daily_quota is not None:
                if sql(conn, "count_within_quota", quota=daily_quota, **where) is None:
                    # No row yet today (the first call), or the quota is used up.
                    sql(conn, "ensure_usage", token_id=charge.token_id, day=charge.day)
                    if sql(conn, "count_within_quota", quota=daily_quota, **where) is None:
                        return Refusal.QUOTA
                counted = True
            if metered and sql(conn, "pay", token_id=charge.token_id, amount=charge.amount) is None:
                if counted:  # undo this operation's count; the batch goes on
                    sql(conn, "uncount", **where)
                return Refusal.BALANCE
            if not counted:
                self._count_call(conn, charge, release=0)
            self._finish(conn, charge, idempotency_key, response, source)
            return None

        return await self._submit(run)

    def _charge_together(self, conn: Connection, charges: list[Charge]) -> list[Refusal | None]:
        """Charges no plan can refuse (no balance, no quota, no idempotency key), as one: their
        ledger rows in one ``executemany``, their counted calls in one statement per token and
        day. The same rows and counts as ``charge`` one by one, for a fraction of the
        statements: the writer's work on every cached answer of an unmetered token."""
        self._statements["ledger"].run_many(conn, [self._ledger_row(c) for c in charges])
        counted: dict[tuple[int, str], list[int]] = {}
        for charge in charges:
            calls_and_credits = counted.setdefault((charge.token_id, charge.day), [0, 0])
            calls_and_credits[0] += 1
            calls_and_credits[1] += charge.amount
        for (token_id, day), (calls, credits) in counted.items():
            self._sql(conn, "count_calls", token_id=token_id, day=day, calls=calls, amount=credits)
        return [None for _ in charges]

    async def release(self, request_id: str) -> None:
        """Give back what a reservation holds (any non-zero outcome). Safe to call twice."""
        await self._submit(lambda conn: self._release(conn, request_id))

    async def reap(self, *, older_than: datetime) -> int:
        """Release reservations left behind (a killed process); returns how many."""

        def run(conn: Connection) -> int:
            stale = conn.execute(
                select(reservations.c.request_id).where(reservations.c.created_at < older_than)
            ).scalars()
            return sum(self._release(conn, request_id) for request_id in list(stale))

        return await self._submit(run)

    async def topup(self, *, token_id: int, credits: int, at: datetime) -> int | None:
        """Add credits (a ledger row of kind ``topup``); the new balance, None if no token."""
        if credits <= 0:
            raise ValueError(f"credits must be a positive whole number; got {credits}")

        def run(conn: Connection) -> int | None:
            balance = conn.execute(
                update(tokens)
                .where(tokens.c.id == token_id)
                .values(balance=_coalesce_zero(tokens.c.balance) + credits)
                .returning(tokens.c.balance)
            ).scalar()
            if balance is None:
                return None
            conn.execute(
                ledger.insert().values(
                    request_id=f"topup-{uuid.uuid4().hex}",
                    token_id=token_id,
                    kind="topup",
                    amount=credits,
                    created_at=at,
                )
            )
            return int(balance)

        return await self._submit(run)

    # -- idempotency -----------------------------------------------------------------------

    async def claim(
        self,
        *,
        token_id: int,
        key: str,
        fingerprint: str,
        at: datetime,
        expired_before: datetime,
        stale_before: datetime,
    ) -> Claim:
        """Become the request that answers for ``key``, or learn what to do instead."""

        def run(conn: Connection) -> Claim:
            where = (idempotency.c.token_id == token_id, idempotency.c.key == key)
            # A key older than the retention window is forgotten: the next use starts afresh.
            conn.execute(
                delete(idempotency).where(*where, idempotency.c.created_at < expired_before)
            )
            inserted = conn.execute(
                self._insert_ignore(idempotency)
                .values(
                    token_id=token_id,
                    key=key,
                    fingerprint=fingerprint,
                    state="pending",
                    created_at=at,
                )
                .on_conflict_do_nothing()
                .returning(idempotency.c.key)
            ).first()
            if inserted is not None:
                return Claim(ClaimState.OWNER)
            row = conn.execute(
                select(
                    idempotency.c.fingerprint,
                    idempotency.c.state,
                    idempotency.c.response,
                    idempotency.c.source,
                    idempotency.c.created_at,
                ).where(*where)
            ).first()
            if row is None:  # deleted between the two statements: try again next round
                return Claim(ClaimState.WAIT)
            if row.fingerprint != fingerprint:
                return Claim(ClaimState.MISMATCH)
            if row.state == "done":
                return Claim(ClaimState.REPLAY, bytes(row.response), row.source)
            if row.created_at < stale_before:  # its owner died: take the key over
                taken = conn.execute(
                    update(idempotency)
                    .where(*where, idempotency.c.state == "pending")
                    .where(idempotency.c.created_at == row.created_at)
                    .values(created_at=at)
                    .returning(idempotency.c.key)
                ).first()
                if taken is not None:
                    return Claim(ClaimState.OWNER)
            return Claim(ClaimState.WAIT)

        return await self._submit(run)

    async def unclaim(self, *, token_id: int, key: str) -> None:
        """Forget a pending key whose request failed, so a retry runs afresh."""
        await self._submit(
            lambda conn: conn.execute(
                delete(idempotency).where(
                    idempotency.c.token_id == token_id,
                    idempotency.c.key == key,
                    idempotency.c.state == "pending",
                )
            )
        )

    async def purge_idempotency(self, *, expired_before: datetime) -> int:
        def run(conn: Connection) -> int:
            result = conn.execute(
                delete(idempotency).where(idempotency.c.created_at < expired_before)
            )
            return int(result.rowcount)

        return await self._submit(run)

    # -- reading ---------------------------------------------------------------------------

    async def usage(
        self, *, token_id: int | None = None, since: str | None = None
    ) -> list[UsageDay]:
        def run(conn: Connection) -> list[UsageDay]:
            query = select(usage).order_by(usage.c.day, usage.c.token_id)
            if token_id is not None:
                query = query.where(usage.c.token_id == token_id)
            if since is not None:
                query = query.where(usage.c.day >= since)
            return [
                UsageDay(r.token_id, r.day, r.calls, r.reserved, r.credits)
                for r in conn.execute(query)
            ]

        return await self._read(run)

    async def balance(self, token_id: int) -> int | None:
        return await self._read(
            lambda conn: conn.execute(
                select(tokens.c.balance).where(tokens.c.id == token_id)
            ).scalar()
        )

    # -- shared statements -----------------------------------------------------------------

    def _insert_ignore(self, table: Table) -> Any:
        return insert_for(self._dialect, table)

    def _sql(self, conn: Connection, name: str, **params: Any) -> tuple[Any, ...] | None:
        """Run one prepared statement of ``STATEMENTS``; its first row (or None)."""
        return self._statements[name].run(conn, params)

    def _when(self, moment: datetime) -> Any:
        """A timestamp as the ``UTCDateTime`` column stores it on this backend."""
        moment = moment.astimezone(UTC)
        if self._dialect == "sqlite":
            return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
        return moment

    def _ledger_row(self, charge: Charge) -> dict[str, Any]:
        """The parameters of a charge's ledger row (statement ``ledger``)."""
        return {
            "request_id": charge.request_id,
            "token_id": charge.token_id,
            "amount": charge.amount,
            "endpoint": charge.endpoint,
            "user_id": charge.user_id,
            "scope_key": charge.scope_key,
            "cached": charge.cached,
            "day": charge.day,
            "created_at": self._when(charge.at),
        }

    def _count_call(self, conn: Connection, charge: Charge, *, release: int) -> None:
        self._sql(
            conn,
            "count_call",
            token_id=charge.token_id,
            day=charge.day,
            amount=charge.amount,
            release=release,
        )

    def _finish(
        self,
        conn: Connection,
        charge: Charge,
        idempotency_key: str | None,
        response: bytes | None,
        source: str | None,
    ) -> None:
        """The ledger row, and the answer to replay for the request's idempotency key."""
        self._statements["ledger"].run(conn, self._ledger_row(charge))
        if idempotency_key is not None:
            self._sql(
                conn,
                "store_answer",
                token_id=charge.token_id,
                key=idempotency_key,
                response=response,
                source=source,
            )

    def _release(self, conn: Connection, request_id: str) -> int:
        held = self._sql(conn, "take_reservation", request_id=request_id)
        if held is None:
            return 0
        token_id, day, amount, quota_slot = held
        if amount:
            self._sql(conn, "refund", token_id=token_id, amount=amount)
        if quota_slot:
            self._sql(conn, "return_slot", token_id=token_id, day=day)
        return 1


def _coalesce_zero(column: Any) -> Any:
    return func.coalesce(column, 0)
