"""Money, quotas and idempotency keys: decided by the database, exactly, under concurrency.

Every decision is a conditional statement (``UPDATE ... WHERE balance >= :price RETURNING``,
``INSERT ... ON CONFLICT DO NOTHING RETURNING``), never a read followed by a write in Python, so
it stays exact with many requests in flight and several server processes on one database.

A call's money moves in two steps. ``reserve`` takes a quota slot and the price out of the balance
(or refuses: quota first, then balance). ``capture`` turns the reservation into a ledger row and a
counted call, in one transaction with the idempotent answer; ``release`` gives everything back.
A reservation whose process died is released by ``reap``.

Writes go through one writer thread per process that runs every pending operation in ONE
transaction on its synchronous connection (group commit): with many requests in flight a commit
is shared by all of them, and SQLite's single writer is never fought over by the requests of one
process.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import queue
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    create_engine,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import URL

from pgy_metrics.store.models import (
    IdempotencyKeyRow,
    LedgerRow,
    ReservationRow,
    TokenRow,
    UsageDayRow,
)
from pgy_metrics.store.sql import insert_for

log = logging.getLogger("pgy_metrics.store.money")
T = TypeVar("T")
MAX_BATCH = 256
"""Operations committed together at most; bounds one transaction's length."""

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
"""The statements on every paid request, written once for both SQLite and PostgreSQL."""
HELD_AMOUNT, HELD_SLOT = 2, 3
"""Positions in the row ``take_reservation`` returns."""


def _prepare(statements: dict[str, str], dialect: str) -> dict[str, str]:
    """Write ``:name`` parameters in the driver's style: sqlite3 takes them as they are (with a
    dict of parameters), psycopg wants ``%(name)s``."""
    if dialect == "sqlite":
        return dict(statements)
    return {name: re.sub(r":(\w+)", r"%(\1)s", sql) for name, sql in statements.items()}


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
    """The money operations, each awaited by a request, committed in groups by one worker."""

    def __init__(self, url: URL) -> None:
        self.engine = _sync_engine(url)
        self._dialect = self.engine.dialect.name
        self._statements = _prepare(STATEMENTS, self._dialect)
        self._inbox: queue.SimpleQueue[_Operation[Any] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None

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

    # -- the group-commit worker -----------------------------------------------------------

    async def _read(self, fn: Callable[[Connection], T]) -> T:
        def run() -> T:
            with self.engine.connect().execution_options(pgy_read_only=True) as conn:
                return fn(conn)

        return await asyncio.to_thread(run)

    async def _submit(self, fn: Callable[[Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        if self._writer is None or not self._writer.is_alive():
            self._writer = threading.Thread(
                target=self._write_forever, args=(loop,), name="accounts-writer", daemon=True
            )
            self._writer.start()
        operation: _Operation[T] = _Operation(fn, loop.create_future())
        self._inbox.put(operation)
        return await operation.future

    def _write_forever(self, loop: asyncio.AbstractEventLoop) -> None:
        """The writer thread: take every waiting operation, commit them together, report back.

        One thread with one long-lived connection (not a pool checkout and a thread hop per
        batch), and one wake-up of the event loop per batch, not per operation.
        """
        conn: Connection | None = None
        while True:
            first = self._inbox.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    following = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if following is None:
                    self._inbox.put(None)  # stop after this batch
                    break
                batch.append(following)
            try:
                if conn is None or conn.invalidated or conn.closed:
                    conn = self.engine.connect()
                outcomes = self._commit(conn, batch)
            except Exception as error:  # cannot even connect: every waiter learns why
                outcomes = [(False, error)] * len(batch)
                conn = None
            try:
                loop.call_soon_threadsafe(_settle, batch, outcomes)
            except RuntimeError:  # the event loop is closed: nobody is waiting any more
                break
        if conn is not None:
            conn.close()

    def _commit(self, conn: Connection, batch: list[_Operation[Any]]) -> list[tuple[bool, Any]]:
        """Run the batch in one transaction; if anything fails, each alone in its own."""
        if len(batch) == 1:
            return [self._commit_alone(conn, batch[0])]
        try:
            with conn.begin():
                return [(True, operation.fn(conn)) for operation in batch]
        except Exception:
            log.warning("a batch of %d operations failed; retrying each alone", len(batch))
            return [self._commit_alone(conn, operation) for operation in batch]

    def _commit_alone(self, conn: Connection, operation: _Operation[Any]) -> tuple[bool, Any]:
        try:
            with conn.begin():
                return True, operation.fn(conn)
        except Exception as error:
            return False, error

    async def aclose(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            self._inbox.put(None)
            await asyncio.to_thread(writer.join, 30)
        self.engine.dispose()

    # -- shared statements -----------------------------------------------------------------

    def _insert_ignore(self, table: Table) -> Any:
        return insert_for(self._dialect, table)

    def _sql(self, conn: Connection, name: str, **params: Any) -> tuple[Any, ...] | None:
        """Run one prepared statement on the driver's own cursor; its first row (or None).

        The hot statements skip SQLAlchemy's statement handling, which cost several times the
        database's own work per statement (measured on SQLite: ~70 µs built with Core, ~20 µs
        through ``exec_driver_sql``, ~6 µs on the cursor). The transaction is still the
        connection's, begun and committed by SQLAlchemy.
        """
        cursor = conn.connection.cursor()
        try:
            cursor.execute(self._statements[name], params)
            row = cursor.fetchone() if cursor.description else None
        finally:
            cursor.close()
        return tuple(row) if row is not None else None

    def _when(self, moment: datetime) -> Any:
        """A timestamp as the ``UTCDateTime`` column stores it on this backend."""
        moment = moment.astimezone(UTC)
        if self._dialect == "sqlite":
            return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
        return moment

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
        self._sql(
            conn,
            "ledger",
            request_id=charge.request_id,
            token_id=charge.token_id,
            amount=charge.amount,
            endpoint=charge.endpoint,
            user_id=charge.user_id,
            scope_key=charge.scope_key,
            cached=charge.cached,
            day=charge.day,
            created_at=self._when(charge.at),
        )
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


@dataclass(slots=True)
class _Operation(Generic[T]):
    fn: Callable[[Connection], T]
    future: asyncio.Future[T]


def _settle(batch: list[_Operation[Any]], outcomes: list[tuple[bool, Any]]) -> None:
    """On the event loop: hand each waiting request its outcome."""
    for operation, (ok, value) in zip(batch, outcomes, strict=True):
        if operation.future.done():  # its request was cancelled meanwhile
            continue
        if ok:
            operation.future.set_result(value)
        else:
            operation.future.set_exception(value)


def _coalesce_zero(column: Any) -> Any:
    return func.coalesce(column, 0)


def _sync_engine(url: URL) -> Engine:
    """A synchronous engine on the same database, for the writer thread."""
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url.set(drivername="sqlite+pysqlite"), poolclass=None)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            # Take transactions into our own hands so that they start with BEGIN IMMEDIATE:
            # the writer's lock is taken up front, never upgraded from a read (which SQLite
            # may refuse at once, without waiting, when another process wrote meanwhile).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            read_only = connection.get_execution_options().get("pgy_read_only")
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url.set(drivername="postgresql+psycopg"), pool_size=4, pool_pre_ping=True)
