"""One engine per store and one writer per process: every write of every repository runs on the
writer thread, so concurrent writes of one process never meet SQLite's "database is locked"."""

from __future__ import annotations

import asyncio
import gc
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from pgy_metrics.contract import Scope
from pgy_metrics.contract.endpoints import NOTES_RATE
from pgy_metrics.service.settings import Settings
from pgy_metrics.store import Snapshot, Store
from pgy_metrics.store.engine import WRITER_THREAD
from pgy_metrics.store.money import Charge, ClaimState, Reservation
from pgy_metrics.store.tokens import BillingPlan

USER = "5d21ab6b000000001201567d"
T0 = datetime(2026, 11, 27, 8, tzinfo=UTC)
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|BEGIN IMMEDIATE)\b", re.I)


def _engines() -> int:
    return sum(isinstance(thing, Engine) for thing in gc.get_objects())


def test_a_store_has_one_engine(tmp_path: Path) -> None:
    gc.collect()
    before = _engines()
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    assert _engines() - before == 1
    assert store.ledger._database is store.database
    assert store.tokens._database is store.database
    assert store.snapshots._database is store.database
    assert store.health._database is store.database


async def test_every_write_of_every_repository_runs_on_the_one_writer(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    statements: list[tuple[str, str]] = []

    @event.listens_for(store.engine, "connect")
    def _trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(
            lambda sql: statements.append((threading.current_thread().name, sql))
        )

    await store.migrate()
    try:
        plan = BillingPlan(daily_quota=10_000, balance=0)
        tokens = [
            await store.tokens.add(
                name=f"t{i}", token_hash=f"{i:064x}", is_admin=False, created_at=T0, plan=plan
            )
            for i in range(4)
        ]
        for token in tokens:
            await store.ledger.topup(token_id=token.id, credits=10_000, at=T0)

        async def money(token_id: int, n: int) -> None:
            request_id = f"r-{token_id}-{n}"
            held = await store.ledger.reserve(
                request_id=request_id,
                token_id=token_id,
                day="2026-11-27",
                price=3,
                metered=True,
                daily_quota=10_000,
                at=T0,
            )
            assert isinstance(held, Reservation)
            charge = Charge(
                request_id, token_id, 3, "2026-11-27", NOTES_RATE, USER, Scope().key, False, T0
            )
            assert await store.ledger.capture(charge, metered=True, reserved=True)

        async def snapshot(n: int) -> None:
            await store.snapshots.add(
                Snapshot(NOTES_RATE, USER, Scope().key, T0 + timedelta(seconds=n), "s", "{}")
            )

        async def token(n: int) -> None:
            name = f"extra-{n}"
            await store.tokens.add(
                name=name, token_hash=uuid.uuid4().hex * 2, is_admin=False, created_at=T0
            )
            await store.tokens.update_plan(name, changes={"price": n})
            await store.tokens.revoke(name, at=T0)

        async def health(n: int) -> None:
            await store.health.add({(n, NOTES_RATE, "s", ""): (1, 0)})
            await store.health.settle_label(f"subject-{n % 3}", f"label-{n % 2}", at=T0)

        async def idempotency(n: int) -> None:
            claim = await store.ledger.claim(
                token_id=tokens[0].id,
                key=f"k{n}",
                fingerprint="f",
                at=T0,
                expired_before=T0 - timedelta(days=1),
                stale_before=T0 - timedelta(minutes=1),
            )
            assert claim.state is ClaimState.OWNER
            await store.ledger.unclaim(token_id=tokens[0].id, key=f"k{n}")

        jobs = [
            *(money(t.id, n) for t in tokens for n in range(25)),
            *(snapshot(n) for n in range(50)),
            *(token(n) for n in range(20)),
            *(health(n) for n in range(30)),
            *(idempotency(n) for n in range(30)),
            *(store.snapshots.latest(NOTES_RATE, USER, Scope().key) for _ in range(20)),
        ]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert errors == []
        history = await store.snapshots.history(NOTES_RATE, USER, Scope().key)
        assert len(history) == 50
        balances = [await store.ledger.balance(t.id) for t in tokens]
        assert balances == [10_000 - 25 * 3] * len(tokens)
    finally:
        await store.aclose()
    writes = [(thread, sql) for thread, sql in statements if WRITE.match(sql)]
    assert len(writes) > 500
    elsewhere = [(thread, sql) for thread, sql in writes if thread != WRITER_THREAD]
    assert elsewhere == []
    reads_elsewhere = [t for t, sql in statements if t != WRITER_THREAD and "SELECT" in sql]
    assert reads_elsewhere  # reads use the pool beside the writer, not its queue


async def test_the_busy_timeout_comes_from_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGY_SQLITE_BUSY_TIMEOUT_MS", "1234")
    settings = Settings(data_dir=tmp_path)
    assert settings.sqlite_busy_timeout_ms == 1234
    store = Store(settings.resolved_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        await store.migrate()
        timeout = await store.database.read(
            lambda conn: conn.execute(text("PRAGMA busy_timeout")).scalar()
        )
    finally:
        await store.aclose()
    assert timeout == 1234
    assert Settings(data_dir=tmp_path, sqlite_busy_timeout_ms=0).sqlite_busy_timeout_ms == 0
    with pytest.raises(ValueError, match="sqlite_busy_timeout_ms"):
        Settings(data_dir=tmp_path, sqlite_busy_timeout_ms=-1)


async def test_writes_together_share_one_call_per_batch_and_keep_their_order(
    tmp_path: Path,
) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    calls: list[list[int]] = []

    def double(conn: Any, items: list[int]) -> list[int]:
        calls.append(list(items))
        return [item * 2 for item in items]

    def plain(conn: Any) -> str:
        return "plain"

    try:
        results = await asyncio.gather(
            *(store.database.write_together(double, n) for n in range(5)),
            store.database.write(plain),
        )
        assert results == [0, 2, 4, 6, 8, "plain"]
        assert calls == [[0, 1, 2, 3, 4]]  # handed over in one loop iteration: one call
    finally:
        await store.aclose()


async def test_a_failing_batch_retries_combined_items_alone(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")

    def picky(conn: Any, items: list[int]) -> list[int]:
        if 3 in items:
            raise ValueError("three is refused")
        return items

    try:
        results = await asyncio.gather(
            *(store.database.write_together(picky, n) for n in range(5)), return_exceptions=True
        )
        assert results[:3] == [0, 1, 2] and results[4] == 4
        assert isinstance(results[3], ValueError)
    finally:
        await store.aclose()


async def test_unrefusable_charges_together_write_what_one_by_one_writes(tmp_path: Path) -> None:
    """Cached answers of tokens without balance or quota are charged together: the same ledger
    rows and counted calls as charging them one by one (a metered token's are not combined)."""
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    await store.migrate()
    try:
        free = await store.tokens.add(
            name="free", token_hash="f" * 64, is_admin=False, created_at=T0
        )
        other = await store.tokens.add(
            name="other", token_hash="o" * 64, is_admin=False, created_at=T0
        )

        def charge(token_id: int, n: int, day: str) -> Charge:
            return Charge(
                request_id=f"r{token_id}-{n}-{day}",
                token_id=token_id,
                amount=n % 3,
                day=day,
                endpoint=NOTES_RATE,
                user_id=USER,
                scope_key="DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_30.ALL",
                cached=True,
                at=T0,
            )

        charges = [
            charge(token, n, day)
            for token in (free.id, other.id)
            for n in range(7)
            for day in ("2026-11-27", "2026-11-28")
        ]
        refusals = await asyncio.gather(
            *(store.ledger.charge(c, metered=False, daily_quota=None) for c in charges)
        )
        assert refusals == [None] * len(charges)
        with store.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT request_id, amount FROM ledger WHERE kind = 'charge'")
            ).all()
            usage = {
                (token, day): (calls, credits)
                for token, day, calls, credits in conn.execute(
                    text("SELECT token_id, day, calls, credits FROM usage_days")
                )
            }
        assert sorted(rows) == sorted((c.request_id, c.amount) for c in charges)
        for token in (free.id, other.id):
            for day in ("2026-11-27", "2026-11-28"):
                mine = [c for c in charges if c.token_id == token and c.day == day]
                assert usage[(token, day)] == (len(mine), sum(c.amount for c in mine))
    finally:
        await store.aclose()
